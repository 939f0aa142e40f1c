package core

import (
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCompletionQueueSignalsAndDrains(t *testing.T) {
	q, err := NewCompletionQueue()
	require.NoError(t, err)
	defer q.Close()

	evs, err := q.Poll(10)
	require.NoError(t, err)
	require.Empty(t, evs)

	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				q.Post(Completion{Token: uint64(g*1000 + i)})
			}
		}(g)
	}
	wg.Wait()

	// The fd is readable: exactly one wake-up byte is pending.
	var b [8]byte
	n, err := syscall.Read(q.FD(), b[:])
	require.NoError(t, err)
	require.Equal(t, 1, n)
	// Put the state back as if the byte were still there.
	syscall.Write(q.wake.wfd, []byte{1})

	seen := map[uint64]bool{}
	for len(seen) < 1000 {
		evs, err := q.Wait(300, time.Second)
		require.NoError(t, err)
		require.NotEmpty(t, evs)
		for _, ev := range evs {
			require.False(t, seen[ev.Token], "token %d twice", ev.Token)
			seen[ev.Token] = true
		}
	}
	// Drained: the fd no longer reads as ready.
	_, err = syscall.Read(q.FD(), b[:])
	require.ErrorIs(t, err, syscall.EAGAIN, "pipe must be empty once the queue is drained")

	// A blocking drain wakes up for a later post.
	go func() { time.Sleep(20 * time.Millisecond); q.Post(Completion{Token: 7}) }()
	evs, err = q.Wait(1, 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, uint64(7), evs[0].Token)

	q.Close()
	_, err = q.Poll(1)
	require.Error(t, err)
}

// The ready flag (SetReadyFlag) reads 1 exactly while the queue holds
// completions: after a post, after a partial drain, not after the last is
// taken, not after Close (and posts to a closed queue leave it 0).
func TestCompletionQueueReadyFlag(t *testing.T) {
	q, err := NewCompletionQueue()
	require.NoError(t, err)
	defer q.Close()
	require.Nil(t, q.ReadyFlag())
	q.Post(Completion{Token: 1}) // before the flag: SetReadyFlag publishes the state
	var flag atomic.Int32
	flag.Store(-5)
	q.SetReadyFlag(&flag)
	require.Same(t, &flag, q.ReadyFlag())
	require.EqualValues(t, 1, flag.Load())
	evs, err := q.Poll(0)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.EqualValues(t, 0, flag.Load())

	q.Post(Completion{Token: 2})
	q.Post(Completion{Token: 3})
	require.EqualValues(t, 1, flag.Load())
	evs, err = q.Poll(1) // one of two: the other still waits
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.EqualValues(t, 1, flag.Load())
	evs, err = q.Wait(5, time.Second)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.EqualValues(t, 0, flag.Load())

	// Many posters and one drainer: once everything is taken, 0.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				q.Post(Completion{Token: uint64(i)})
			}
		}()
	}
	got := 0
	for got < 800 {
		evs, err := q.Wait(0, time.Second)
		require.NoError(t, err)
		got += len(evs)
	}
	wg.Wait()
	require.EqualValues(t, 0, flag.Load())

	q.Post(Completion{Token: 4})
	require.EqualValues(t, 1, flag.Load())
	q.Close()
	require.EqualValues(t, 0, flag.Load(), "Close drops the completions")
	q.Post(Completion{Token: 5})
	require.EqualValues(t, 0, flag.Load(), "no write after Close")
}

// A close while a wait sits in ppoll gets the waiter out, and the fds are
// closed by it, not under it.
func TestWakePipeCloseWithWaiter(t *testing.T) {
	w, err := openWakePipe()
	require.NoError(t, err)
	var mu sync.Mutex
	done := make(chan time.Duration)
	go func() {
		mu.Lock()
		start := time.Now()
		w.wait(&mu, -1, time.Minute)
		mu.Unlock()
		done <- time.Since(start)
	}()
	// Wait until the waiter is inside ppoll (it holds a reference).
	for w.refs.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	ring := w.close()
	mu.Unlock()
	require.True(t, ring, "close must ask for the wake-up byte")
	w.ring()
	require.Less(t, <-done, 30*time.Second, "close must wake the waiter")
	require.Equal(t, int32(0), w.refs.Load(), "the last waiter closes the fds")
	mu.Lock()
	defer mu.Unlock()
	w.wait(&mu, -1, time.Minute) // closed: returns at once
}

// signal asks for one byte however many times it is called; clear makes
// the pipe idle again.
func TestWakePipeSignalClear(t *testing.T) {
	w, err := openWakePipe()
	require.NoError(t, err)
	defer w.close()
	var b [8]byte
	require.True(t, w.signal())
	require.False(t, w.signal())
	w.ring()
	n, err := syscall.Read(w.rfd, b[:])
	require.NoError(t, err)
	require.Equal(t, 1, n, "one byte however many signals")
	syscall.Write(w.wfd, []byte{1})
	w.clear()
	_, err = syscall.Read(w.rfd, b[:])
	require.ErrorIs(t, err, syscall.EAGAIN)
	require.False(t, w.signaled)
	require.Zero(t, w.owed)
}

// A clear that runs before the byte of the signal it clears has been
// written leaves that byte owed; when it lands, the next wait reads it
// back instead of returning at once with nothing to do.
func TestWakePipeLateByte(t *testing.T) {
	w, err := openWakePipe()
	require.NoError(t, err)
	defer w.close()
	var mu sync.Mutex
	mu.Lock()
	defer mu.Unlock()
	require.True(t, w.signal())
	w.clear() // the byte is not written yet
	require.Equal(t, 1, w.owed)
	w.ring() // lands with no wake-up due
	w.wait(&mu, -1, 10*time.Millisecond)
	require.Zero(t, w.owed, "the wait reads the stray byte back")
	var b [8]byte
	_, err = syscall.Read(w.rfd, b[:])
	require.ErrorIs(t, err, syscall.EAGAIN, "the pipe is idle again")
}
