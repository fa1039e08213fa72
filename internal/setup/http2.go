package setup

import "crypto/tls"

// DisableHTTP2 makes a TLS server offer HTTP/1.1 only. HTTP/2 servers are
// exposed to stream-reset floods (CVE-2023-44487, CVE-2023-39325); and
// each HTTP/2 request runs on a fresh goroutine whose stack grows again
// under the policies' deep evaluation, while an HTTP/1.1 connection serves
// its requests on one goroutine. The apiserver and Prometheus speak both.
func DisableHTTP2(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }
