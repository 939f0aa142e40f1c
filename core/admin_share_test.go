package core

// Share-group administration tests, on the dev cluster (kfake answers
// ShareGroupDescribe, DescribeShareGroupOffsets v0-1, AlterShareGroupOffsets
// and DeleteShareGroupOffsets) or on the Kafka of GOFKA_BROKERS (skipped
// before 4.2 with the share consumer tests, see skipWithoutShareGroups).

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// shareGroupListed returns the listing of group among gs, if any.
func shareGroupListed(gs []GroupListing, group string) (GroupListing, bool) {
	for _, g := range gs {
		if g.GroupID == group {
			return g, true
		}
	}
	return GroupListing{}, false
}

// TestAdminShareGroupLifecycle: a share group with a member is listed with
// type "share" (and only under that type), described with its member,
// assignment and epochs, by DescribeShareGroups and by the generic
// DescribeGroups; its offsets cannot be altered or deleted while the member
// is in; once it left, AlterShareGroupOffsets moves the start offset (a new
// consumer gets the records from there), ListShareGroupOffsets reports it
// with the lag, and DeleteShareGroupOffsets drops the state.
func TestAdminShareGroupLifecycle(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	f := newShareFixture(t, ctx)
	a := f.admin
	c := f.consumer(t)
	waitAssigned(t, c)
	f.produce(t, ctx, 5)
	var seen []string
	pollUntil(t, ctx, c, func(r []*ShareRecord) {
		for _, x := range r {
			seen = append(seen, string(x.Value))
		}
	}, func() bool { return len(seen) == 5 })
	_, err := c.Commit(ctx) // accepts the five
	require.NoError(t, err)

	// Listing, by type.
	shares, err := a.ListGroups(ctx, "share")
	require.NoError(t, err)
	g, ok := shareGroupListed(shares, f.group)
	require.True(t, ok, "share group %s not in %v", f.group, shares)
	assert.Equal(t, "share", g.Type)
	assert.Equal(t, "Stable", g.State)
	for _, l := range shares {
		assert.Equal(t, "share", l.Type, "%s listed under the share type", l.GroupID)
	}
	consumers, err := a.ListGroups(ctx, "Consumer", "classic")
	require.NoError(t, err)
	_, ok = shareGroupListed(consumers, f.group)
	assert.False(t, ok, "share group listed as a consumer group")
	all, err := a.ListGroups(ctx)
	require.NoError(t, err)
	g, ok = shareGroupListed(all, f.group)
	require.True(t, ok)
	assert.Equal(t, "share", g.Type)

	// Describing.
	ds, err := a.DescribeShareGroups(ctx, []string{f.group})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	d := ds[0]
	assert.Equal(t, f.group, d.GroupID)
	assert.Equal(t, "Stable", d.State)
	assert.Positive(t, d.GroupEpoch)
	assert.Positive(t, d.AssignmentEpoch)
	assert.NotEmpty(t, d.Assignor)
	assert.NotEmpty(t, d.Coordinator.Host)
	require.Len(t, d.Members, 1)
	m := d.Members[0]
	assert.Equal(t, c.MemberID(), m.MemberID)
	assert.Positive(t, m.MemberEpoch)
	assert.Equal(t, []string{f.topic}, m.SubscribedTopics)
	assert.Equal(t, map[string][]int32{f.topic: {0}}, m.Assignment)
	assert.NotEmpty(t, m.ClientHost)

	gd, err := a.DescribeGroups(ctx, []string{f.group})
	require.NoError(t, err)
	require.Len(t, gd, 1)
	assert.Equal(t, "share", gd[0].Type)
	assert.Equal(t, "Stable", gd[0].State)
	require.Len(t, gd[0].Members, 1)
	assert.Equal(t, c.MemberID(), gd[0].Members[0].MemberID)
	assert.Equal(t, map[string][]int32{f.topic: {0}}, gd[0].Members[0].Assignment)

	// The five accepted records leave no lag. (The dev cluster moves the
	// start offset past them at once; Kafka may keep it lower until it
	// persists the share-partition state again, counting them as
	// delivered above it.)
	offs, err := a.ListShareGroupOffsets(ctx, f.group, nil)
	require.NoError(t, err)
	require.Len(t, offs, 1)
	assert.Equal(t, f.topic, offs[0].Topic)
	assert.Zero(t, offs[0].Partition)
	assert.Zero(t, offs[0].Lag)
	assert.True(t, offs[0].StartOffset >= 0 && offs[0].StartOffset <= 5, "start offset %d", offs[0].StartOffset)
	assert.GreaterOrEqual(t, offs[0].LeaderEpoch, int32(0))

	// A group with a member refuses both changes.
	err = a.AlterShareGroupOffsets(ctx, f.group, []ShareOffset{{Topic: f.topic, Partition: 0, StartOffset: 2}})
	assert.Equal(t, wire.ErrNonEmptyGroup, wire.CodeOf(err), "%v", err)
	err = a.DeleteShareGroupOffsets(ctx, f.group, []string{f.topic})
	assert.Equal(t, wire.ErrNonEmptyGroup, wire.CodeOf(err), "%v", err)

	require.NoError(t, c.Close(ctx))
	require.Eventually(t, func() bool {
		d, err := a.DescribeShareGroup(ctx, f.group)
		require.NoError(t, err)
		return d.State == "Empty" && len(d.Members) == 0
	}, 30*time.Second, 50*time.Millisecond)

	// Back to offset 2: three records to deliver again.
	require.NoError(t, a.AlterShareGroupOffsets(ctx, f.group, []ShareOffset{{Topic: f.topic, Partition: 0, StartOffset: 2}}))
	offs, err = a.ListShareGroupOffsets(ctx, f.group, []TopicPartition{{f.topic, 0}})
	require.NoError(t, err)
	require.Len(t, offs, 1)
	assert.EqualValues(t, 2, offs[0].StartOffset)
	assert.EqualValues(t, 3, offs[0].Lag)
	again := f.consumer(t)
	waitAssigned(t, again)
	var redelivered []string
	pollUntil(t, ctx, again, func(r []*ShareRecord) {
		for _, x := range r {
			redelivered = append(redelivered, string(x.Value))
		}
	}, func() bool { return len(redelivered) >= 3 })
	assert.Equal(t, []string{"v2", "v3", "v4"}, redelivered)
	_, err = again.Commit(ctx)
	require.NoError(t, err)
	require.NoError(t, again.Close(ctx))

	// Deleting the topic's state: nothing left to list.
	require.Eventually(t, func() bool {
		d, err := a.DescribeShareGroup(ctx, f.group)
		require.NoError(t, err)
		return len(d.Members) == 0
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, a.DeleteShareGroupOffsets(ctx, f.group, []string{f.topic}))
	offs, err = a.ListShareGroupOffsets(ctx, f.group, nil)
	if wire.CodeOf(err) != wire.ErrGroupIDNotFound { // the group may go with its last state
		require.NoError(t, err)
		assert.Empty(t, offs)
	}
	offs, err = a.ListShareGroupOffsets(ctx, f.group, []TopicPartition{{f.topic, 0}})
	if wire.CodeOf(err) != wire.ErrGroupIDNotFound {
		require.NoError(t, err)
		require.Len(t, offs, 1)
		assert.EqualValues(t, -1, offs[0].StartOffset)
		assert.EqualValues(t, -1, offs[0].Lag)
	}
}

// TestAdminShareGroupErrors: what is not a share group, or not a group, is
// GROUP_ID_NOT_FOUND (as the Java client maps it), and bad arguments are
// INVALID_ARGUMENT before any request.
func TestAdminShareGroupErrors(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	f := newShareFixture(t, ctx)
	a := f.admin

	missing := f.group + "-missing"
	_, err := a.DescribeShareGroups(ctx, []string{missing})
	assert.Equal(t, wire.ErrGroupIDNotFound, wire.CodeOf(err), "%v", err)
	_, err = a.DescribeGroup(ctx, missing)
	assert.Equal(t, wire.ErrGroupIDNotFound, wire.CodeOf(err), "%v", err)
	err = a.DeleteShareGroupOffsets(ctx, missing, []string{f.topic})
	assert.Equal(t, wire.ErrGroupIDNotFound, wire.CodeOf(err), "%v", err)

	// A consumer group's id.
	f.produce(t, ctx, 1)
	cg := newTestConsumer(t, f.brokers, WithGroupID(f.group+"-cg"), WithAutoOffsetReset("earliest"))
	require.NoError(t, cg.Subscribe(ctx, f.topic))
	for n := 0; n == 0; {
		recs, err := cg.Poll(ctx, 10)
		require.NoError(t, err)
		n += len(recs)
	}
	require.NoError(t, cg.Commit(ctx))
	_, err = a.DescribeShareGroup(ctx, f.group+"-cg")
	assert.Equal(t, wire.ErrGroupIDNotFound, wire.CodeOf(err), "%v", err)
	err = a.AlterShareGroupOffsets(ctx, f.group+"-cg", []ShareOffset{{Topic: f.topic, Partition: 0, StartOffset: 0}})
	assert.Equal(t, wire.ErrGroupIDNotFound, wire.CodeOf(err), "%v", err)

	invalid := func(err error) {
		t.Helper()
		assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%v", err)
	}
	_, err = a.ListGroups(ctx, "shared")
	invalid(err)
	_, err = a.DescribeShareGroup(ctx, "")
	invalid(err)
	_, err = a.ListShareGroupOffsets(ctx, f.group, []TopicPartition{{"", 0}})
	invalid(err)
	_, err = a.ListShareGroupOffsets(ctx, f.group, []TopicPartition{{f.topic, -1}})
	invalid(err)
	invalid(a.AlterShareGroupOffsets(ctx, f.group, nil))
	invalid(a.AlterShareGroupOffsets(ctx, f.group, []ShareOffset{{Topic: f.topic, Partition: 0, StartOffset: -1}}))
	invalid(a.DeleteShareGroupOffsets(ctx, f.group, nil))
	invalid(a.DeleteShareGroupOffsets(ctx, f.group, []string{""}))
}

// TestAdminListGroupsTypeFilterNeedsV5: a type filter is never sent at a
// ListGroups version that would drop it.
func TestAdminListGroupsTypeFilterNeedsV5(t *testing.T) {
	lo, hi := versionFloor{Request: &wire.ListGroupsRequest{}, Min: 5}.Versions()
	assert.Equal(t, [2]int16{5, 5}, [2]int16{lo, hi})
}
