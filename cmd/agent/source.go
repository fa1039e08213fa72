package main

import (
	"errors"
	"fmt"

	"github.com/seccomp-operator/seccomp-operator/internal/enricher"
)

const (
	sourceAuditNetlink = enricher.SourceAuditNetlink
	sourceNone         = "none"
)

// newSource is the record source the flag names (the enricher opens it,
// and reports in the node state when it cannot).
func newSource(name string) (enricher.Source, error) {
	switch name {
	case sourceNone:
		return nil, errors.New("no record source (--record-source=none): violations are not counted on this node")
	case enricher.SourceAuditNetlink:
		return &enricher.AuditNetlink{}, nil
	}
	return nil, fmt.Errorf("unknown --record-source %q (want %s or %s)", name, sourceAuditNetlink, sourceNone)
}
