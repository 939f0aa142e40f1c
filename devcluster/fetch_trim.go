package devcluster

import (
	"encoding/binary"
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Read-committed fetches. kfake stops filling a fetch response when the
// request's MaxBytes is reached, and when that cuts a partition's data
// short it leaves out the partition's AbortedTransactions: a
// read_committed consumer then takes that response's aborted records for
// committed ones (seen with fetches of a few KiB over interleaved
// transactions; a partition's own max bytes, checked after, is handled
// correctly). The guard therefore lifts the request's MaxBytes for
// read_committed fetches without a session (every fetch of Gofka's
// consumer) and applies the bound itself when the response comes back:
// it keeps whole record batches in response order while they fit, and
// always the first one (KIP-74), as Kafka does. The aborted transactions
// kfake listed for a trimmed partition stay: those past the kept batches
// are never reached by a consumer.

// fetchReadCommitted is the isolation level of a read_committed fetch.
const fetchReadCommitted = 1

// rewriteFetch returns the frame to hand kfake for a fetch request, or
// nil to pass it as is; it remembers the bound to apply to the response.
func (c *guardConn) rewriteFetch(req *kmsg.FetchRequest, corr int32, clientID *string) []byte {
	if req.IsolationLevel != fetchReadCommitted || req.SessionEpoch != -1 || req.MaxBytes <= 0 || req.MaxBytes == math.MaxInt32 {
		return nil
	}
	c.watch(corr, &guardPatch{req: req, fetchMax: req.MaxBytes})
	req.MaxBytes = math.MaxInt32
	return reencode(req, corr, clientID)
}

// trimFetch applies the request's MaxBytes to a fetch response: the
// record batches of its partitions, in order, while their total fits,
// and at least the first batch of the response.
func trimFetch(resp *kmsg.FetchResponse, maxBytes int32) {
	total, kept := 0, false
	for ti := range resp.Topics {
		parts := resp.Topics[ti].Partitions
		for pi := range parts {
			data := parts[pi].RecordBatches
			keep := 0
			for keep < len(data) {
				n := batchSize(data[keep:])
				if n <= 0 || n > len(data)-keep {
					keep = len(data) // not a whole batch: leave the rest as kfake sent it
					break
				}
				if kept && total+n > int(maxBytes) {
					break
				}
				total, keep, kept = total+n, keep+n, true
			}
			parts[pi].RecordBatches = data[:keep]
		}
	}
}

// batchSize is the size of the record batch (or legacy message set entry)
// at the start of b: its 8-byte base offset and 4-byte length, then that
// many bytes. 0 when b is too short to say.
func batchSize(b []byte) int {
	if len(b) < 12 {
		return 0
	}
	return 12 + int(int32(binary.BigEndian.Uint32(b[8:12])))
}
