package core

import (
	"math/rand/v2"
	"sync/atomic"
)

// murmur2 is the 32-bit MurmurHash2 variant of Kafka's Java client
// (org.apache.kafka.common.utils.Utils.murmur2, seed 0x9747b28c). Keyed
// records go to toPositive(murmur2(key)) % partitions, so the same key lands
// on the same partition as with the Java client and librdkafka's
// "murmur2_random" partitioner.
func murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	for len(data) >= 4 {
		k := uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
		data = data[4:]
	}
	switch len(data) {
	case 3:
		h ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// KeyPartition returns the partition the Java client's default partitioner
// picks for key among n partitions.
func KeyPartition(key []byte, n int) int32 {
	return int32(int64(murmur2(key)&0x7fffffff) % int64(n))
}

// roundRobin spreads unkeyed records without an explicit partition. It is
// the fallback partitioner of the synchronous path; safe for concurrent use.
type roundRobin struct{ next atomic.Uint32 }

func (r *roundRobin) pick(n int) int32 { return int32(r.next.Add(1) % uint32(n)) }

// stickyPick chooses the next sticky partition: a random partition other
// than cur whose leader is known, else any partition other than cur, else
// cur itself (a single partition).
func stickyPick(parts []*partBuf, cur int32) int32 {
	n := int32(len(parts))
	if n == 1 {
		return 0
	}
	// Start at a random point and take the first partition with a leader.
	start := rand.Int32N(n)
	for i := int32(0); i < n; i++ {
		c := (start + i) % n
		if c == cur {
			continue
		}
		pb := parts[c]
		pb.mu.Lock()
		ok := pb.sink != nil
		pb.mu.Unlock()
		if ok {
			return c
		}
	}
	c := rand.Int32N(n - 1)
	if cur >= 0 && c >= cur {
		c++
	}
	return c
}
