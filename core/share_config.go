package core

import (
	"fmt"

	"github.com/gofka/gofka/wire"
)

// Share consumer configuration (KIP-932): the `--- share consumer ---`
// fields of Config and their rows of the property table. The defaults are
// the Java client's (KafkaShareConsumer).

func init() {
	properties = append(properties, shareProperties...)
}

var shareProperties = []Property{
	{"share.acknowledgement.mode", "enum", "implicit", "Share consumers: implicit accepts every record of a poll when the next poll, commit or close runs; explicit makes the application acknowledge each record (accept, release or reject) and refuses a poll while a record of the previous one is unacknowledged.",
		func(c *Config, v string) error {
			m, err := parseEnum("share.acknowledgement.mode", v, ShareAckImplicit, ShareAckExplicit)
			c.ShareAcknowledgementMode = string(m)
			return err
		}},
}

// ShareAcknowledgementMode is the value of share.acknowledgement.mode.
type ShareAcknowledgementMode string

// String returns the property spelling ("implicit", "explicit").
func (m ShareAcknowledgementMode) String() string { return string(m) }

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
	if err := checkChoice("share.acknowledgement.mode", c.ShareAcknowledgementMode); err != nil {
		return err // core/choices.go
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
