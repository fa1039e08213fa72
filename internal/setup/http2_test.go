package setup

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestDisableHTTP2ServesHTTP1Only(t *testing.T) {
	for _, disable := range []bool{false, true} {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		srv.EnableHTTP2 = true // offers h2 unless the config says otherwise
		if disable {
			srv.TLS = &tls.Config{}
			DisableHTTP2(srv.TLS)
		}
		srv.StartTLS()
		c := srv.Client()
		c.Transport.(*http.Transport).ForceAttemptHTTP2 = true
		resp, err := c.Get(srv.URL)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{false: 2, true: 1}[disable]; resp.ProtoMajor != want {
			t.Errorf("disable %v: served HTTP/%d, want HTTP/%d", disable, resp.ProtoMajor, want)
		}
	}
}
