package wire

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// highestKafkaCode is the highest code of Kafka 4.x's Errors enum.
const highestKafkaCode = 136

var upperSnake = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

func TestErrorTableShape(t *testing.T) {
	tab := ErrorTable()
	require.NotEmpty(t, tab)
	valid := map[Category]bool{}
	for _, c := range Categories() {
		valid[c] = true
	}
	codes := map[ErrorCode]bool{}
	names := map[string]bool{}
	for i, e := range tab {
		assert.False(t, codes[e.Code], "duplicate code %d", e.Code)
		assert.False(t, names[e.Name], "duplicate name %s", e.Name)
		codes[e.Code], names[e.Name] = true, true
		assert.Regexp(t, upperSnake, e.Name)
		assert.True(t, valid[e.Category], "%s: bad category %q", e.Name, e.Category)
		assert.NotContains(t, e.Description, "\n", e.Name)
		if e.Code != ErrNone {
			assert.NotEmpty(t, e.Description, e.Name)
		}
		if i > 0 {
			assert.Less(t, tab[i-1].Code, e.Code, "table not sorted at %s", e.Name)
		}
		// Only UNKNOWN_SERVER_ERROR may sit between the local range and 0.
		assert.True(t, e.Code <= LocalCodeMax || e.Code >= -1, "%s: code %d in reserved gap", e.Name, e.Code)
		assert.Equal(t, e.Code <= LocalCodeMax, e.Code.IsLocal())
		assert.Equal(t, e, Lookup(e.Code))
		assert.Equal(t, e.Name, e.Code.String())
		assert.Equal(t, e.Retriable, e.Code.Retriable())
	}
	// Every Kafka code from -1 to the highest one is present, no gaps.
	for c := ErrorCode(-1); c <= highestKafkaCode; c++ {
		assert.True(t, codes[c], "missing Kafka code %d", c)
	}
	assert.False(t, codes[highestKafkaCode+1])
	// The required local codes.
	for c := ErrorCode(-100); c >= -117; c-- {
		assert.True(t, codes[c], "missing local code %d", c)
	}
}

func TestErrorTableIsACopy(t *testing.T) {
	tab := ErrorTable()
	tab[0].Name = "MUTATED"
	tab[0].Retriable = !tab[0].Retriable
	assert.NotEqual(t, "MUTATED", ErrorTable()[0].Name)
	assert.NotEqual(t, "MUTATED", Lookup(tab[0].Code).Name)
}

func TestWellKnownCodes(t *testing.T) {
	cases := []struct {
		code      ErrorCode
		want      int16
		name      string
		retriable bool
		category  Category
	}{
		{ErrUnknownServerError, -1, "UNKNOWN_SERVER_ERROR", false, CategoryGeneric},
		{ErrNone, 0, "NONE", false, CategoryGeneric},
		{ErrOffsetOutOfRange, 1, "OFFSET_OUT_OF_RANGE", false, CategoryOffset},
		{ErrCorruptMessage, 2, "CORRUPT_MESSAGE", true, CategoryProduce},
		{ErrUnknownTopicOrPartition, 3, "UNKNOWN_TOPIC_OR_PARTITION", true, CategoryMetadata},
		{ErrLeaderNotAvailable, 5, "LEADER_NOT_AVAILABLE", true, CategoryMetadata},
		{ErrNotLeaderOrFollower, 6, "NOT_LEADER_OR_FOLLOWER", true, CategoryMetadata},
		{ErrRequestTimedOut, 7, "REQUEST_TIMED_OUT", true, CategoryConnection},
		{ErrBrokerNotAvailable, 8, "BROKER_NOT_AVAILABLE", false, CategoryConnection},
		{ErrMessageTooLarge, 10, "MESSAGE_TOO_LARGE", false, CategoryProduce},
		{ErrNetworkException, 13, "NETWORK_EXCEPTION", true, CategoryConnection},
		{ErrNotCoordinator, 16, "NOT_COORDINATOR", true, CategoryGroup},
		{ErrNotEnoughReplicas, 19, "NOT_ENOUGH_REPLICAS", true, CategoryProduce},
		{ErrRebalanceInProgress, 27, "REBALANCE_IN_PROGRESS", false, CategoryGroup},
		{ErrTopicAuthorizationFailed, 29, "TOPIC_AUTHORIZATION_FAILED", false, CategoryAuth},
		{ErrUnsupportedVersion, 35, "UNSUPPORTED_VERSION", false, CategoryGeneric},
		{ErrInvalidConfig, 40, "INVALID_CONFIG", false, CategoryGeneric},
		{ErrOutOfOrderSequenceNumber, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, CategoryProduce},
		{ErrSaslAuthenticationFailed, 58, "SASL_AUTHENTICATION_FAILED", false, CategoryAuth},
		{ErrFetchSessionIDNotFound, 70, "FETCH_SESSION_ID_NOT_FOUND", true, CategoryConsume},
		{ErrFencedInstanceID, 82, "FENCED_INSTANCE_ID", false, CategoryGroup},
		{ErrProducerFenced, 90, "PRODUCER_FENCED", false, CategoryProduce},
		{ErrUnknownTopicID, 100, "UNKNOWN_TOPIC_ID", true, CategoryMetadata},
		{ErrShareSessionLimitReached, 133, "SHARE_SESSION_LIMIT_REACHED", true, CategoryConsume},
		{ErrControllerIDNotRegistered, 136, "CONTROLLER_ID_NOT_REGISTERED", false, CategoryGeneric},
		// Local codes.
		{ErrLocalUnknown, -100, "LOCAL_UNKNOWN", false, CategoryGeneric},
		{ErrTimedOut, -104, "TIMED_OUT", true, CategoryConnection},
		{ErrConnectionFailed, -105, "CONNECTION_FAILED", true, CategoryConnection},
		{ErrQueueFull, -109, "QUEUE_FULL", true, CategoryProduce},
		{ErrDeliveryTimeout, -111, "DELIVERY_TIMEOUT", false, CategoryProduce},
		{ErrTLSFailed, -117, "TLS_FAILED", false, CategoryAuth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, int16(tc.code))
			info := Lookup(tc.code)
			assert.Equal(t, tc.name, info.Name)
			assert.Equal(t, tc.retriable, info.Retriable)
			assert.Equal(t, tc.retriable, tc.code.Retriable())
			assert.Equal(t, tc.category, info.Category)
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, c := range []ErrorCode{9999, -50, -2, 32767} {
		info := Lookup(c)
		assert.Equal(t, c, info.Code)
		assert.Equal(t, fmt.Sprintf("UNKNOWN_ERROR_%d", c), info.Name)
		assert.Equal(t, CategoryGeneric, info.Category)
		assert.False(t, info.Retriable)
		assert.False(t, c.Retriable())
		assert.Equal(t, info.Name, c.String())
	}
}

func TestErrorMessages(t *testing.T) {
	assert.Equal(t, "NONE", ErrNone.Error())
	assert.Equal(t, "REQUEST_TIMED_OUT: The request timed out.", ErrRequestTimedOut.Error())
	assert.Equal(t, "REQUEST_TIMED_OUT", fmt.Sprint(ErrRequestTimedOut.String()))

	e := &Error{Code: ErrNotLeaderOrFollower, Detail: "topic t partition 3", Broker: "b1:9092"}
	msg := e.Error()
	assert.True(t, strings.HasPrefix(msg, "NOT_LEADER_OR_FOLLOWER: For requests intended only for the leader"), msg)
	assert.True(t, strings.HasSuffix(msg, ": topic t partition 3 (broker b1:9092)"), msg)
	assert.Equal(t, ErrTimedOut.Error(), (&Error{Code: ErrTimedOut}).Error())
	assert.True(t, e.Retriable())
}

func TestAsError(t *testing.T) {
	assert.NoError(t, AsError(0))
	err := AsError(6)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNotLeaderOrFollower)
	assert.NotErrorIs(t, err, ErrLeaderNotAvailable)
	assert.Equal(t, ErrNotLeaderOrFollower, CodeOf(err))
	// Unknown codes still become errors carrying their code.
	assert.Equal(t, ErrorCode(4242), CodeOf(AsError(4242)))
}

func TestErrorsIs(t *testing.T) {
	e := &Error{Code: ErrNotLeaderOrFollower, Detail: "d"}
	wrapped := fmt.Errorf("producing: %w", e)
	assert.ErrorIs(t, wrapped, ErrNotLeaderOrFollower)
	assert.ErrorIs(t, wrapped, &Error{Code: ErrNotLeaderOrFollower})
	assert.NotErrorIs(t, wrapped, ErrMessageTooLarge)
	assert.NotErrorIs(t, wrapped, &Error{Code: ErrMessageTooLarge})

	var got *Error
	require.ErrorAs(t, wrapped, &got)
	assert.Same(t, e, got)

	var code ErrorCode
	require.ErrorAs(t, wrapped, &code)
	assert.Equal(t, ErrNotLeaderOrFollower, code)

	// A bare code returned as an error.
	var err error = ErrTimedOut
	assert.ErrorIs(t, fmt.Errorf("x: %w", err), ErrTimedOut)
}

func TestCodeOf(t *testing.T) {
	// A real dial to a closed port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, dialErr := net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, dialErr)

	// A read past its deadline.
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	require.NoError(t, c1.SetReadDeadline(time.Now().Add(-time.Second)))
	_, deadlineErr := c1.Read(make([]byte, 1))
	require.ErrorIs(t, deadlineErr, os.ErrDeadlineExceeded)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	cases := []struct {
		name string
		err  error
		want ErrorCode
	}{
		{"nil", nil, ErrNone},
		{"code", ErrOffsetOutOfRange, ErrOffsetOutOfRange},
		{"wrapped code", fmt.Errorf("a: %w", ErrRebalanceInProgress), ErrRebalanceInProgress},
		{"*Error", &Error{Code: ErrQueueFull}, ErrQueueFull},
		{"wrapped *Error", fmt.Errorf("a: %w", fmt.Errorf("b: %w", &Error{Code: ErrNotCoordinator})), ErrNotCoordinator},
		{"joined", errors.Join(errors.New("x"), &Error{Code: ErrNoOffset}), ErrNoOffset},
		{"deadline", context.DeadlineExceeded, ErrTimedOut},
		{"wrapped deadline", fmt.Errorf("fetch: %w", context.DeadlineExceeded), ErrTimedOut},
		{"context error", ctx.Err(), ErrInterrupted},
		{"conn deadline", deadlineErr, ErrTimedOut},
		{"dial refused", dialErr, ErrConnectionFailed},
		{"op error", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("boom")}, ErrConnectionFailed},
		{"dns", &net.DNSError{Err: "no such host", Name: "nope.invalid"}, ErrConnectionFailed},
		{"closed", fmt.Errorf("w: %w", net.ErrClosed), ErrConnectionFailed},
		{"eof", io.EOF, ErrConnectionFailed},
		{"tls", fmt.Errorf("handshake: %w", x509.UnknownAuthorityError{}), ErrTLSFailed},
		{"short buffer", fmt.Errorf("decoding: %w", ErrShortBuffer), ErrCorruptResponse},
		{"other", errors.New("something else"), ErrLocalUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, CodeOf(tc.err), "%v", tc.err)
		})
	}
}

func TestErrorInfoJSON(t *testing.T) {
	b, err := json.Marshal(Lookup(ErrNotLeaderOrFollower))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, float64(6), m["code"])
	assert.Equal(t, "NOT_LEADER_OR_FOLLOWER", m["name"])
	assert.Equal(t, true, m["retriable"])
	assert.Equal(t, "metadata", m["category"])
	assert.NotEmpty(t, m["description"])
}
