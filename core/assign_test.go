package core

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func members(n int, topics ...string) []assignMember {
	out := make([]assignMember, n)
	for i := range out {
		out[i] = assignMember{id: fmt.Sprintf("m%d", i), topics: topics, generation: -1}
	}
	return out
}

// checkComplete asserts every partition is assigned exactly once.
func checkComplete(t *testing.T, res map[string][]TopicPartition, partitions map[string]int32) {
	t.Helper()
	seen := map[TopicPartition]string{}
	for id, tps := range res {
		for _, tp := range tps {
			prev, dup := seen[tp]
			require.False(t, dup, "%v assigned to %s and %s", tp, prev, id)
			seen[tp] = id
		}
	}
	total := 0
	for _, n := range partitions {
		total += int(n)
	}
	require.Len(t, seen, total)
}

func TestRangeAssignor(t *testing.T) {
	parts := map[string]int32{"a": 7, "b": 2}
	res := rangeAssignor{}.assign(members(3, "a", "b"), parts)
	checkComplete(t, res, parts)
	require.Equal(t, []TopicPartition{{"a", 0}, {"a", 1}, {"a", 2}, {"b", 0}}, res["m0"])
	require.Equal(t, []TopicPartition{{"a", 3}, {"a", 4}, {"b", 1}}, res["m1"])
	require.Equal(t, []TopicPartition{{"a", 5}, {"a", 6}}, res["m2"])

	// Static members are ordered by instance id, whatever their member id.
	ms := members(2, "a")
	ms[0].instanceID, ms[1].instanceID = "z", "y"
	res = rangeAssignor{}.assign(ms, map[string]int32{"a": 2})
	require.Equal(t, []TopicPartition{{"a", 0}}, res["m1"])
	require.Equal(t, []TopicPartition{{"a", 1}}, res["m0"])
}

func TestRoundRobinAssignor(t *testing.T) {
	parts := map[string]int32{"a": 3, "b": 3}
	ms := members(2, "a", "b")
	res := roundRobinAssignor{}.assign(ms, parts)
	checkComplete(t, res, parts)
	require.Equal(t, []TopicPartition{{"a", 0}, {"a", 2}, {"b", 1}}, res["m0"])
	require.Equal(t, []TopicPartition{{"a", 1}, {"b", 0}, {"b", 2}}, res["m1"])

	// A member not subscribed to a topic gets none of it.
	ms[1].topics = []string{"a"}
	res = roundRobinAssignor{}.assign(ms, parts)
	checkComplete(t, res, parts)
	for _, tp := range res["m1"] {
		require.Equal(t, "a", tp.Topic)
	}
}

func TestStickyAssignorBalancesAndSticks(t *testing.T) {
	parts := map[string]int32{"t": 6}
	// One member owning everything, two newcomers.
	ms := members(3, "t")
	for p := int32(0); p < 6; p++ {
		ms[0].owned = append(ms[0].owned, TopicPartition{"t", p})
	}
	ms[0].generation = 1
	res := stickyAssignor{}.assign(ms, parts)
	// Round 1: m0 keeps 2 of its own, the 4 it must give up are withheld.
	require.Len(t, res["m0"], 2)
	require.Empty(t, res["m1"])
	require.Empty(t, res["m2"])
	kept := res["m0"]

	// Round 2: m0 now owns only what it kept; the rest is spread.
	ms[0].owned, ms[0].generation = kept, 2
	res = stickyAssignor{}.assign(ms, parts)
	checkComplete(t, res, parts)
	require.Equal(t, kept, res["m0"])
	require.Len(t, res["m1"], 2)
	require.Len(t, res["m2"], 2)

	// A member leaves: the survivors keep theirs and split its partitions.
	ms2 := []assignMember{ms[0], ms[1]}
	ms2[1].owned, ms2[1].generation = res["m1"], 2
	res2 := stickyAssignor{}.assign(ms2, parts)
	checkComplete(t, res2, parts)
	require.Len(t, res2["m0"], 3)
	require.Len(t, res2["m1"], 3)
	require.Subset(t, res2["m0"], kept)
	require.Subset(t, res2["m1"], res["m1"])
}

func TestStickyAssignorStaleClaims(t *testing.T) {
	parts := map[string]int32{"t": 2}
	ms := members(2, "t")
	// Both claim t/0; m1's claim is from an older generation and loses.
	ms[0].owned, ms[0].generation = []TopicPartition{{"t", 0}}, 5
	ms[1].owned, ms[1].generation = []TopicPartition{{"t", 0}}, 4
	res := stickyAssignor{}.assign(ms, parts)
	require.Equal(t, []TopicPartition{{"t", 0}}, res["m0"])
	// m1 still claims t/0 and is not given it; t/1 is free and goes to m1.
	require.Equal(t, []TopicPartition{{"t", 1}}, res["m1"])
}

func TestStickyAssignorDifferentSubscriptions(t *testing.T) {
	parts := map[string]int32{"a": 4, "b": 4}
	ms := members(3, "a", "b")
	ms[2].topics = []string{"b"}
	res := stickyAssignor{}.assign(ms, parts)
	checkComplete(t, res, parts)
	for _, tp := range res["m2"] {
		require.Equal(t, "b", tp.Topic)
	}
	for _, id := range []string{"m0", "m1", "m2"} {
		require.InDelta(t, 8.0/3, len(res[id]), 1.0, id)
	}
}
