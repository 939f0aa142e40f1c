package core

import (
	"fmt"
	"strings"

	"github.com/gofka/gofka/wire"
)

// Share consumer configuration (KIP-932): the `--- share consumer ---`
// fields of Config and their rows of the property table. The defaults are
// the Java client's (KafkaShareConsumer).

func init() {
	properties = append(properties, shareProperties...)
}

var shareProperties = []Property{
	{"share.acknowledgement.mode", "implicit|explicit", "implicit", "Share consumers: implicit accepts every record of a poll when the next poll, commit or close runs; explicit makes the application acknowledge each record (accept, release or reject) and refuses a poll while a record of the previous one is unacknowledged.",
		func(c *Config, v string) error {
			switch m := ShareAcknowledgementMode(strings.ToLower(v)); m {
			case ShareAckImplicit, ShareAckExplicit:
				c.ShareAcknowledgementMode = string(m)
				return nil
			}
			return fmt.Errorf("must be implicit or explicit")
		}},
}

// ShareAcknowledgementMode is the value of share.acknowledgement.mode.
type ShareAcknowledgementMode string

// The acknowledgement modes of a ShareConsumer.
const (
	// ShareAckImplicit (the default) accepts the records of a poll at the
	// next Poll, Commit or Close; Acknowledge is refused.
	ShareAckImplicit ShareAcknowledgementMode = "implicit"
	// ShareAckExplicit makes the application acknowledge every record
	// with Acknowledge before the next Poll.
	ShareAckExplicit ShareAcknowledgementMode = "explicit"
)

// WithShareAcknowledgementMode sets share.acknowledgement.mode (default
// ShareAckImplicit).
func WithShareAcknowledgementMode(m ShareAcknowledgementMode) ShareConsumerOption {
	return shareOpt(func(c *Config) { c.ShareAcknowledgementMode = string(m) })
}

// validateShareConsumer checks the settings a ShareConsumer needs (called
// by NewShareConsumer, so that other clients are not held to them).
func (c *Config) validateShareConsumer() error {
	bad := func(format string, args ...any) error {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf(format, args...)}
	}
	switch ShareAcknowledgementMode(c.ShareAcknowledgementMode) {
	case ShareAckImplicit, ShareAckExplicit:
	default:
		return bad("share.acknowledgement.mode must be implicit or explicit, got %q", c.ShareAcknowledgementMode)
	}
	if c.GroupID == "" {
		return bad("a share consumer needs a group.id")
	}
	// The fetch and poll settings have the consumer's ranges
	// (core/validate.go).
	if err := c.checkRanges(rangeConsumer); err != nil {
		return err
	}
	return nil
}
