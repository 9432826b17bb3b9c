// HttpGet: one blocking GET over libcurl, for tests that read an endpoint of the process under
// test (the daemon's /metrics, /health, /ready). No SSRF guard, no retries: loopback test traffic.
// Thread-safety: any thread; each call uses a handle of its own.
#pragma once

#include <string>

namespace fraiseql::testing {

struct HttpGetReply {
  long status = 0;  // 0: no response (the error says why)
  std::string body;
  std::string error;
};

HttpGetReply HttpGet(const std::string& url);

}  // namespace fraiseql::testing
