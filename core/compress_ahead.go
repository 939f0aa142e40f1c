package core

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gofka/gofka/wire"
)

// Compressing ahead. A compressed batch costs far more CPU to encode than
// anything else the engine does with it (zstd's default level runs at
// ~60-200 MB/s per core), and the sink's sender, which writes a broker's
// requests in order, used to encode every batch of a request itself, one
// after another, at the moment it wrote the request: compression of all
// of a producer's batches to one broker ran on one goroutine, whatever the
// cores.
//
// Now the full batches next in line to be sent (feedAhead: the first few
// unsent ones of a partition, when one fills up and whenever the sender
// takes one) are handed to a pool of compression workers (GOMAXPROCS of
// them, at most maxCompressWorkers), which encode and compress their
// records section (wire.PrepareRecords) while the sender writes earlier
// requests and while the producing goroutines fill the next batches. The
// sender then only adds the header (producer id, epoch and sequence,
// assigned when the batch is taken) and the CRC
// (wire.AppendPreparedBatch). When the sender gets to a batch first (a
// lingering or partly filled batch is never handed over; a handed-over one
// may still be queued) it encodes it itself, as before; when a worker is
// compressing it, the sender waits for that rather than doing it twice.
//
// Order, sequence numbers and retries are untouched: they are decided when
// the sender takes batches (takeReady) and writes requests, as before, and
// the prepared bytes are the ones the sender would have written
// (TestPreparedBatchMatchesAppend). The prepared records are dropped once
// written: a retry encodes the batch again, which gives the same bytes
// (the codecs are deterministic), under the same sequence.
//
// Memory: at most twice as many batches as there are workers (tokens: 4
// on 2 cores, at most 8) are prepared, or queued to be, and not yet
// written, per producer; each holds at most about its batch.size of
// compressed bytes in a pooled buffer. Beyond that batches are encoded by
// the sender as before. buffer.memory counts the records themselves, not
// these transient encodings (as it never counted the request being
// built): with the default batch.size the extra heap is at most 8 MiB.

// maxCompressWorkers bounds a producer's compression workers: one sender
// per broker rarely has more batches ready than that many cores compress,
// and each worker's tokens are heap beyond buffer.memory (see above).
const maxCompressWorkers = 4

type compressor struct {
	codec   wire.Compression
	level   int // compression.level
	workers int
	jobs    chan *recBatch // sealed batches to prepare; each holds a ref and a token
	tokens  chan struct{}  // one per batch queued or prepared and not yet written
	quit    <-chan struct{}

	written atomic.Int64 // batches written with records prepared ahead (tests)
}

// newCompressor starts the workers of a producer that compresses (nil
// with compression none); they stop when quit is closed and are counted
// in wg.
func newCompressor(codec wire.Compression, level int, quit <-chan struct{}, wg *sync.WaitGroup) *compressor {
	if codec == wire.CompressionNone {
		return nil
	}
	n := min(runtime.GOMAXPROCS(0), maxCompressWorkers)
	c := &compressor{codec: codec, level: level, workers: n, jobs: make(chan *recBatch, 2*n), tokens: make(chan struct{}, 2*n), quit: quit}
	wg.Add(n)
	for range n {
		go c.run(wg)
	}
	return c
}

// feedAhead hands the compression workers the partition's next batches
// to send that are full and were never handed over: at most as many as
// there are workers, from the head of the unsent ones
// (pb.batches[sendIdx:]), so that the workers compress what the sender
// needs next rather than the tail of a long queue. Called when a batch fills up and when the sender
// takes one; pb.mu held. Never blocks.
func (pb *partBuf) feedAhead() {
	c := pb.p.comp
	if c == nil {
		return
	}
	end := min(len(pb.batches), pb.sendIdx+c.workers)
	for _, b := range pb.batches[pb.sendIdx:end] {
		if b == pb.open {
			return // still filling
		}
		if b.queued {
			continue
		}
		if !c.submit(b) {
			return
		}
		b.queued = true
	}
}

// submit hands b to a worker unless enough batches are already ahead of
// the sender (tokens), and reports whether it did; never blocks. Safe for
// concurrent use.
func (c *compressor) submit(b *recBatch) bool {
	select {
	case c.tokens <- struct{}{}:
	default:
		return false // enough ahead: the sender encodes this one
	}
	b.refs.Add(1) // the job's; released by the worker
	select {
	case c.jobs <- b:
		return true
	default: // cannot happen: jobs holds as many as there are tokens
		b.refs.Add(-1)
		<-c.tokens
		return false
	}
}

func (c *compressor) run(wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case b := <-c.jobs:
			c.prepare(b)
		case <-c.quit:
			return
		}
	}
}

// prepare encodes b's records ahead of the sender, unless the sender (or
// the end of the batch) got there first, and drops the job's ref.
func (c *compressor) prepare(b *recBatch) {
	b.prepMu.Lock()
	if !b.taken && b.prepBuf == nil {
		buf := getPrepBuf()
		pr, err := wire.PrepareRecordsFrom(*buf, batchRecords(b.proms), c.codec, c.level)
		if err == nil {
			b.prep, b.prepBuf, b.prepTok = pr, buf, c.tokens
		} else {
			putPrepBuf(buf, nil) // the sender meets the error again and reports it
		}
	}
	keep := b.prepTok != nil
	b.prepMu.Unlock()
	if !keep {
		<-c.tokens
	}
	b.unref()
}

// prepBufPool holds the buffers of prepared records. A buffer is owned by
// one batch at a time, from prepare until the sender has copied it into a
// request (or the batch ended); oversized ones are left to the GC.
var prepBufPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledPrep = 4 << 20

func getPrepBuf() *[]byte {
	p := prepBufPool.Get().(*[]byte)
	*p = (*p)[:0]
	return p
}

// putPrepBuf pools p, whose array data grew into (nil: unchanged).
func putPrepBuf(p *[]byte, data []byte) {
	if data != nil {
		*p = data[:0]
	}
	if cap(*p) <= maxPooledPrep {
		prepBufPool.Put(p)
	}
}

// appendBatch appends b as a RecordBatch with rb's header to dst, using
// the records a worker prepared when there are some (and dropping them),
// else encoding them now. From now on no worker prepares b. Sender only
// (sendMu held); it may wait for a worker compressing b.
func (b *recBatch) appendBatch(dst []byte, rb *wire.RecordBatch, codec wire.Compression, level int) ([]byte, bool, error) {
	b.prepMu.Lock()
	defer b.prepMu.Unlock()
	b.taken = true
	if b.prepBuf == nil {
		out, err := wire.AppendRecordBatchFrom(dst, rb, batchRecords(b.proms), codec, level)
		return out, false, err
	}
	out, err := wire.AppendPreparedBatch(dst, rb, &b.prep)
	b.dropPrepLocked()
	return out, true, err
}

// endPrep stops any preparing of b and drops what was prepared: b is
// finished, its records are about to be handed back to their owners.
func (b *recBatch) endPrep() {
	b.prepMu.Lock()
	b.taken = true
	b.dropPrepLocked()
	b.prepMu.Unlock()
}

// dropPrepLocked frees the prepared records and their token; prepMu held.
func (b *recBatch) dropPrepLocked() {
	if b.prepBuf != nil {
		putPrepBuf(b.prepBuf, b.prep.Data)
		b.prep, b.prepBuf = wire.PreparedRecords{}, nil
	}
	if b.prepTok != nil {
		<-b.prepTok
		b.prepTok = nil
	}
}
