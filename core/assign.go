package core

import (
	"sort"
)

// Client-side partition assignors of the classic group protocol. The group
// leader runs the assignor all members agreed on (the coordinator picks
// the first of the leader's preferences every member supports) over every
// member's subscription.
//
//   - range: per topic, members (ordered by group.instance.id, else member
//     id) get consecutive runs of partitions; the first n%m members one
//     more. Like Java's RangeAssignor.
//   - roundrobin: all partitions, ordered by topic then partition, dealt
//     one by one to the members subscribed to their topic. Like Java's
//     RoundRobinAssignor.
//   - cooperative-sticky: a balanced assignment that keeps every valid
//     owned partition it can; a partition moving from one member to another
//     is left out of this round, so its owner revokes it and a follow-up
//     rebalance hands it over (KIP-429). Interoperates with Java's
//     CooperativeStickyAssignor through the owned partitions and generation
//     of subscription v2+.

// assignMember is one member's input to an assignor.
type assignMember struct {
	id         string
	instanceID string // "" for dynamic members
	topics     []string
	owned      []TopicPartition
	generation int32 // of owned; -1 unknown
}

// sortKey orders members: static ones by instance id (stable across
// restarts), then dynamic ones by member id.
func (m *assignMember) sortKey() string {
	if m.instanceID != "" {
		return "0" + m.instanceID
	}
	return "1" + m.id
}

// assignor computes member id -> partitions. partitions maps each existing
// topic to its partition count; topics missing from it get nothing.
type assignor interface {
	name() string
	cooperative() bool
	assign(members []assignMember, partitions map[string]int32) map[string][]TopicPartition
}

func assignorByName(name AssignmentStrategy) assignor {
	switch name {
	case "range":
		return rangeAssignor{}
	case "roundrobin":
		return roundRobinAssignor{}
	case "cooperative-sticky":
		return stickyAssignor{}
	}
	return nil
}

func sortedMembers(members []assignMember) []assignMember {
	out := append([]assignMember(nil), members...)
	sort.Slice(out, func(i, j int) bool { return out[i].sortKey() < out[j].sortKey() })
	return out
}

func subscribes(m *assignMember, topic string) bool {
	for _, t := range m.topics {
		if t == topic {
			return true
		}
	}
	return false
}

func emptyResult(members []assignMember) map[string][]TopicPartition {
	out := make(map[string][]TopicPartition, len(members))
	for _, m := range members {
		out[m.id] = []TopicPartition{}
	}
	return out
}

func sortedTopics(partitions map[string]int32) []string {
	ts := make([]string, 0, len(partitions))
	for t := range partitions {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

type rangeAssignor struct{}

func (rangeAssignor) name() string      { return "range" }
func (rangeAssignor) cooperative() bool { return false }
func (rangeAssignor) assign(members []assignMember, partitions map[string]int32) map[string][]TopicPartition {
	out := emptyResult(members)
	ms := sortedMembers(members)
	for _, t := range sortedTopics(partitions) {
		var subs []*assignMember
		for i := range ms {
			if subscribes(&ms[i], t) {
				subs = append(subs, &ms[i])
			}
		}
		if len(subs) == 0 {
			continue
		}
		n := int(partitions[t])
		per, extra := n/len(subs), n%len(subs)
		next := 0
		for i, m := range subs {
			cnt := per
			if i < extra {
				cnt++
			}
			for k := 0; k < cnt; k++ {
				out[m.id] = append(out[m.id], TopicPartition{t, int32(next)})
				next++
			}
		}
	}
	return out
}

type roundRobinAssignor struct{}

func (roundRobinAssignor) name() string      { return "roundrobin" }
func (roundRobinAssignor) cooperative() bool { return false }
func (roundRobinAssignor) assign(members []assignMember, partitions map[string]int32) map[string][]TopicPartition {
	out := emptyResult(members)
	ms := sortedMembers(members)
	if len(ms) == 0 {
		return out
	}
	next := 0
	for _, t := range sortedTopics(partitions) {
		for p := int32(0); p < partitions[t]; p++ {
			// The next member, in circular order, that subscribes to t.
			for k := 0; k < len(ms); k++ {
				m := &ms[(next+k)%len(ms)]
				if subscribes(m, t) {
					out[m.id] = append(out[m.id], TopicPartition{t, p})
					next = (next + k + 1) % len(ms)
					break
				}
			}
		}
	}
	return out
}

type stickyAssignor struct{}

func (stickyAssignor) name() string      { return "cooperative-sticky" }
func (stickyAssignor) cooperative() bool { return true }

func (stickyAssignor) assign(members []assignMember, partitions map[string]int32) map[string][]TopicPartition {
	ms := sortedMembers(members)
	byID := make(map[string]*assignMember, len(ms))
	for i := range ms {
		byID[ms[i].id] = &ms[i]
	}
	exists := func(tp TopicPartition) bool {
		n, ok := partitions[tp.Topic]
		return ok && tp.Partition >= 0 && tp.Partition < n
	}

	// Valid prior owners: the claim of the newest generation wins; two
	// claims of the same generation both lose (neither keeps it sticky).
	type claim struct {
		member string
		gen    int32
		dup    bool
	}
	claims := map[TopicPartition]*claim{}
	claimants := map[TopicPartition][]string{}
	for i := range ms {
		m := &ms[i]
		for _, tp := range m.owned {
			if !exists(tp) || !subscribes(m, tp.Topic) {
				continue
			}
			claimants[tp] = append(claimants[tp], m.id)
			cl := claims[tp]
			switch {
			case cl == nil:
				claims[tp] = &claim{member: m.id, gen: m.generation}
			case m.generation > cl.gen:
				*cl = claim{member: m.id, gen: m.generation}
			case m.generation == cl.gen:
				cl.dup = true
			}
		}
	}
	prevOwner := map[TopicPartition]string{}
	for tp, cl := range claims {
		if !cl.dup {
			prevOwner[tp] = cl.member
		}
	}

	// Eligible members per topic, and the balanced quota each member may
	// keep of what it owned.
	eligible := map[string][]string{}
	total := 0
	for _, t := range sortedTopics(partitions) {
		for i := range ms {
			if subscribes(&ms[i], t) {
				eligible[t] = append(eligible[t], ms[i].id)
			}
		}
		if len(eligible[t]) > 0 {
			total += int(partitions[t])
		}
	}
	assigned := make(map[string][]TopicPartition, len(ms))
	count := func(id string) int { return len(assigned[id]) }

	// Keep owned partitions up to the fair share: members sorted by how
	// much they own keep ceil(total/n) while there are "extra" slots left,
	// then floor(total/n).
	n := len(ms)
	if n == 0 {
		return map[string][]TopicPartition{}
	}
	floor, extra := total/n, total%n
	owners := make([]*assignMember, 0, len(ms))
	ownedBy := map[string][]TopicPartition{}
	for tp, id := range prevOwner {
		ownedBy[id] = append(ownedBy[id], tp)
	}
	for i := range ms {
		sortTPs(ownedBy[ms[i].id])
		owners = append(owners, &ms[i])
	}
	sort.SliceStable(owners, func(i, j int) bool { return len(ownedBy[owners[i].id]) > len(ownedBy[owners[j].id]) })
	taken := map[TopicPartition]bool{}
	for _, m := range owners {
		limit := floor
		if extra > 0 && len(ownedBy[m.id]) > floor {
			limit++
			extra--
		}
		for _, tp := range ownedBy[m.id] {
			if count(m.id) >= limit {
				break
			}
			assigned[m.id] = append(assigned[m.id], tp)
			taken[tp] = true
		}
	}

	// Hand out the rest, each to the eligible member with the fewest.
	for _, t := range sortedTopics(partitions) {
		cands := eligible[t]
		if len(cands) == 0 {
			continue
		}
		for p := int32(0); p < partitions[t]; p++ {
			tp := TopicPartition{t, p}
			if taken[tp] {
				continue
			}
			best := cands[0]
			for _, id := range cands[1:] {
				if count(id) < count(best) {
					best = id
				}
			}
			assigned[best] = append(assigned[best], tp)
			taken[tp] = true
		}
	}

	// Balance (matters with differing subscriptions): move partitions from
	// the fullest member to an eligible emptier one while that narrows the
	// gap by more than one, preferring partitions the giver did not own.
	for iter := 0; iter < total*n+1; iter++ {
		moved := false
		for i := range ms {
			giver := ms[i].id
			for _, pref := range []bool{false, true} { // not-owned first
				for k := len(assigned[giver]) - 1; k >= 0 && !moved; k-- {
					tp := assigned[giver][k]
					if (prevOwner[tp] == giver) != pref {
						continue
					}
					for _, taker := range eligible[tp.Topic] {
						if taker != giver && count(giver)-count(taker) > 1 {
							assigned[giver] = append(assigned[giver][:k], assigned[giver][k+1:]...)
							assigned[taker] = append(assigned[taker], tp)
							moved = true
							break
						}
					}
				}
				if moved {
					break
				}
			}
		}
		if !moved {
			break
		}
	}

	// Cooperative step: a partition another member still claims is
	// withheld this round; that member revokes it, then rejoins.
	out := emptyResult(members)
	for id, tps := range assigned {
		for _, tp := range tps {
			// Claims of an older generation than the newest one are
			// stale (that member missed a rebalance and will find out).
			withheld := false
			if cl := claims[tp]; cl != nil {
				for _, other := range claimants[tp] {
					if other != id && byID[other].generation == cl.gen {
						withheld = true
					}
				}
			}
			if !withheld {
				out[id] = append(out[id], tp)
			}
		}
		sortTPs(out[id])
	}
	return out
}
