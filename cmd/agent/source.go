package main

import (
	"errors"
	"fmt"

	"github.com/seccomp-operator/seccomp-operator/internal/enricher"
)

const (
	sourceAuditNetlink = "audit-netlink"
	sourceNone         = "none"
)

// newSource opens the record source the flag names.
func newSource(name string) (enricher.Source, error) {
	switch name {
	case sourceNone:
		return nil, errors.New("no record source (--record-source=none): violations are not counted on this node")
	case sourceAuditNetlink:
		return nil, errors.New("audit-netlink: not wired yet")
	}
	return nil, fmt.Errorf("unknown --record-source %q (want %s or %s)", name, sourceAuditNetlink, sourceNone)
}
