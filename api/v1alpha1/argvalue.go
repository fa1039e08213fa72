package v1alpha1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ArgValue is an unsigned 64-bit syscall argument value.
//
// It is not a plain uint64 because the apiserver decodes JSON numbers into
// int64, or float64 when they do not fit, so values of 2^63 and above (masks
// such as 0xffffffff00000000) would be silently corrupted in storage. An
// ArgValue is written as a JSON number when it fits in an int64 (so ordinary
// profiles look exactly like OCI JSON) and as a hexadecimal string otherwise;
// it reads numbers and decimal or 0x-prefixed hexadecimal strings.
//
// +kubebuilder:validation:XIntOrString
// +kubebuilder:validation:Type=""
// +kubebuilder:validation:Format=""
// +kubebuilder:validation:Pattern=`^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$`
type ArgValue uint64

// MarshalJSON writes v as a number when it fits in an int64, else as a
// "0x…" string.
func (v ArgValue) MarshalJSON() ([]byte, error) {
	if uint64(v) <= math.MaxInt64 {
		return strconv.AppendUint(nil, uint64(v), 10), nil
	}
	return []byte(`"0x` + strconv.FormatUint(uint64(v), 16) + `"`), nil
}

// UnmarshalJSON reads a non-negative integer number, or a string holding a
// decimal or 0x-prefixed hexadecimal unsigned 64-bit integer.
func (v *ArgValue) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("argument value %s: %w", data, err)
		}
		u, err := ParseArgValue(s)
		if err != nil {
			return err
		}
		*v = u
		return nil
	}
	u, err := strconv.ParseUint(string(data), 10, 64)
	if err != nil {
		return fmt.Errorf("argument value %s: want an unsigned 64-bit integer, or a string holding one (decimal or 0x hex)", data)
	}
	*v = ArgValue(u)
	return nil
}

// ParseArgValue parses a decimal or 0x-prefixed hexadecimal unsigned 64-bit
// integer.
func ParseArgValue(s string) (ArgValue, error) {
	var (
		u   uint64
		err error
	)
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		u, err = strconv.ParseUint(h, 16, 64)
	} else {
		u, err = strconv.ParseUint(s, 10, 64)
	}
	if err != nil {
		return 0, fmt.Errorf("argument value %q: want an unsigned 64-bit integer (decimal or 0x hex)", s)
	}
	return ArgValue(u), nil
}
