package metricsauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAuthorizedMetrics(t *testing.T) {
	calls := 0
	review := func(_ context.Context, token, path string) (Decision, error) {
		calls++
		if path != "/metrics" {
			t.Errorf("reviewed path %q", path)
		}
		switch token {
		case "reader":
			return Allowed, nil
		case "other-user":
			return Forbidden, nil
		case "broken":
			return 0, errors.New("apiserver down")
		}
		return Unauthenticated, nil
	}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("go_goroutines 7\n")) })
	h := Authorized(metrics, review)
	for _, c := range []struct {
		name, header string
		want         int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"not a bearer token", "Basic cmVhZGVyOng=", http.StatusUnauthorized},
		{"empty bearer token", "Bearer  ", http.StatusUnauthorized},
		{"unknown token", "Bearer forged", http.StatusUnauthorized},
		{"user without the role", "Bearer other-user", http.StatusForbidden},
		{"apiserver unreachable", "Bearer broken", http.StatusServiceUnavailable},
		{"metrics reader", "Bearer reader", http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s: status %d, want %d (%s)", c.name, rec.Code, c.want, rec.Body)
		}
		if got := strings.Contains(rec.Body.String(), "go_goroutines"); got != (c.want == http.StatusOK) {
			t.Errorf("%s: metrics served: %v", c.name, got)
		}
	}
	if calls != 4 {
		t.Errorf("%d reviews, want 4 (none without a bearer token)", calls)
	}
}

// A scraper costs the apiserver a review per TTL, not per scrape; a
// failed review is not remembered.
func TestDecisionCache(t *testing.T) {
	now := time.Unix(0, 0)
	calls := map[string]int{}
	fail := true
	c := &decisionCache{now: func() time.Time { return now }, entries: map[[32]byte]cached{},
		review: func(_ context.Context, token, _ string) (Decision, error) {
			calls[token]++
			if token == "flaky" && fail {
				return 0, errors.New("down")
			}
			if token == "reader" || token == "flaky" {
				return Allowed, nil
			}
			return Forbidden, nil
		}}
	decide := func(token string) Decision {
		d, _ := c.decide(context.Background(), token, "/metrics")
		return d
	}
	for range 3 {
		if decide("reader") != Allowed || decide("other") != Forbidden {
			t.Fatal("wrong decision")
		}
	}
	if calls["reader"] != 1 || calls["other"] != 1 {
		t.Errorf("reviews within the TTL: %v, want one each", calls)
	}
	now = now.Add(denyTTL)
	decide("reader")
	decide("other")
	if calls["reader"] != 1 || calls["other"] != 2 {
		t.Errorf("after the denial TTL: %v, want the denial reviewed again only", calls)
	}
	now = now.Add(allowTTL)
	decide("reader")
	if calls["reader"] != 2 {
		t.Errorf("after the allow TTL: %v", calls)
	}
	if _, err := c.decide(context.Background(), "flaky", "/metrics"); err == nil {
		t.Fatal("a failed review gave a decision")
	}
	fail = false
	if decide("flaky") != Allowed || calls["flaky"] != 2 {
		t.Errorf("a failed review was cached: %v", calls)
	}
	for i := range 2 * maxCachedTokens {
		decide(strings.Repeat("x", i))
	}
	if len(c.entries) > maxCachedTokens {
		t.Errorf("%d cached decisions, cap %d", len(c.entries), maxCachedTokens)
	}
}

// FuzzAuthorized: whatever the Authorization header, the metrics are
// served only for the one token the review allows, and nothing panics.
func FuzzAuthorized(f *testing.F) {
	for _, s := range []string{"", "Bearer reader", "Bearer  reader ", "bearer reader", "Bearer", "Bearer \x00", "Basic cmVhZGVyOng=", "Bearer reader\r\nX: y"} {
		f.Add(s)
	}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("secret-metric 1\n")) })
	h := Authorized(metrics, func(_ context.Context, token, _ string) (Decision, error) {
		if token == "reader" {
			return Allowed, nil
		}
		return Unauthenticated, nil
	})
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header["Authorization"] = []string{header}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		token, ok := strings.CutPrefix(header, "Bearer ")
		allowed := ok && strings.TrimSpace(token) == "reader"
		if served := strings.Contains(rec.Body.String(), "secret-metric"); served != allowed || (rec.Code == http.StatusOK) != allowed {
			t.Errorf("header %q: status %d, served %v, want allowed %v", header, rec.Code, served, allowed)
		}
	})
}
