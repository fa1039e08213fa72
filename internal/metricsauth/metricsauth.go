// Package metricsauth serves the metrics of the manager and of the agents
// only to clients the apiserver vouches for: a bearer token it accepts
// (TokenReview) of a user allowed to get the path (SubjectAccessReview),
// the contract of controller-runtime's metrics filter, with client-go
// alone. That filter links most of k8s.io/apiserver into a binary: the
// agent runs on every node and the manager's resident memory grew with it.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
)

// Decision is what the apiserver says of a request's bearer token.
type Decision int

// Decisions, as HTTP statuses.
const (
	Allowed         Decision = http.StatusOK
	Unauthenticated Decision = http.StatusUnauthorized // no valid token
	Forbidden       Decision = http.StatusForbidden    // a valid token of a user who may not get the path
)

// ReviewFunc decides whether the bearer token may GET path. An error (the
// apiserver unreachable) is not a decision: it is neither cached nor
// reported as a denial.
type ReviewFunc func(ctx context.Context, token, path string) (Decision, error)

// How long decisions are remembered, so that a scraper every few seconds
// costs the apiserver two reviews a minute, not two per scrape; a denial
// is remembered shorter, so a newly granted scraper gets in soon.
const (
	allowTTL        = time.Minute
	denyTTL         = 10 * time.Second
	maxCachedTokens = 256
)

// Authorized serves h only to requests whose bearer token review allows
// for the request's path: 401 without a valid token, 403 for a user who
// may not get the path, 503 when the apiserver cannot be asked.
func Authorized(h http.Handler, review ReviewFunc) http.Handler {
	c := &decisionCache{review: review, now: time.Now, entries: map[[32]byte]cached{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			http.Error(w, "Unauthorized: send a bearer token of a user allowed to get "+r.URL.Path+" (ClusterRole seccomp-operator-metrics-reader)", http.StatusUnauthorized)
			return
		}
		d, err := c.decide(r.Context(), strings.TrimSpace(token), r.URL.Path)
		switch {
		case err != nil:
			http.Error(w, "cannot review the token with the apiserver: "+err.Error(), http.StatusServiceUnavailable)
		case d == Allowed:
			h.ServeHTTP(w, r)
		case d == Forbidden:
			http.Error(w, "Forbidden: this user may not get "+r.URL.Path+" (ClusterRole seccomp-operator-metrics-reader grants it)", http.StatusForbidden)
		default:
			http.Error(w, "Unauthorized: the apiserver does not accept this token", http.StatusUnauthorized)
		}
	})
}

type cached struct {
	d     Decision
	until time.Time
}

type decisionCache struct {
	review  ReviewFunc
	now     func() time.Time
	mu      sync.Mutex
	entries map[[32]byte]cached // by sha256 of path and token: no token is kept
}

func (c *decisionCache) decide(ctx context.Context, token, path string) (Decision, error) {
	key := sha256.Sum256([]byte(path + "\x00" + token))
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.d, nil
	}
	d, err := c.review(ctx, token, path)
	if err != nil {
		return 0, err
	}
	ttl := denyTTL
	if d == Allowed {
		ttl = allowTTL
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedTokens {
		// Many distinct tokens: someone is guessing. Forget them all
		// rather than grow.
		clear(c.entries)
	}
	c.entries[key] = cached{d: d, until: now.Add(ttl)}
	return d, nil
}

// APIReview is a ReviewFunc that asks the apiserver of cfg: a TokenReview
// for the token, then a SubjectAccessReview of a GET of the path (a
// non-resource URL) by its user.
func APIReview(cfg *rest.Config) (ReviewFunc, error) {
	// Paths are absolute and bodies JSON made here: the client's group
	// does not matter, and its scheme only decodes error Statuses.
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &authnv1.SchemeGroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(s).WithoutConversion()
	client, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("client for token and access reviews: %w", err)
	}
	post := func(ctx context.Context, path string, in, out any) error {
		body, err := json.Marshal(in)
		if err != nil {
			return err
		}
		raw, err := client.Post().AbsPath(path).SetHeader("Content-Type", "application/json").Body(body).DoRaw(ctx)
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, out)
	}
	return func(ctx context.Context, token, path string) (Decision, error) {
		tr := &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}
		if err := post(ctx, "/apis/authentication.k8s.io/v1/tokenreviews", tr, tr); err != nil {
			return 0, fmt.Errorf("token review: %w", err)
		}
		if !tr.Status.Authenticated {
			return Unauthenticated, nil
		}
		u := tr.Status.User
		extra := make(map[string]authzv1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			extra[k] = authzv1.ExtraValue(v)
		}
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
			NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: "get"},
		}}
		if err := post(ctx, "/apis/authorization.k8s.io/v1/subjectaccessreviews", sar, sar); err != nil {
			return 0, fmt.Errorf("access review: %w", err)
		}
		if !sar.Status.Allowed {
			return Forbidden, nil
		}
		return Allowed, nil
	}, nil
}

// SelfSignedTLS is a TLS configuration with a certificate made now for
// host, signed by a CA made for it: scrapers authenticate an agent by the
// network path to its pod, as they do for the kubelet's metrics.
func SelfSignedTLS(host string) (*tls.Config, error) {
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(host, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("self-signed metrics certificate: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("self-signed metrics certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
