// RoundRobinHttpClient: each request goes to the next client in turn, with its callback, and a
// single client takes them all. The clients are fakes that record what they were sent (pure
// dispatch logic; the engines themselves are tested against real servers in curl_engine_test).
#include "http/round_robin_http_client.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

class RecordingClient final : public HttpClient {
 public:
  explicit RecordingClient(std::vector<std::string>* log, std::string name) : log_(log), name_(std::move(name)) {}
  void Send(HttpRequest request, Callback on_done) override {
    log_->push_back(name_ + " " + request.url);
    HttpResult result;
    result.response.status = 200;
    on_done(std::move(result));
  }

 private:
  std::vector<std::string>* log_;
  std::string name_;
};

std::unique_ptr<RoundRobinHttpClient> Make(std::vector<std::string>* log, int clients) {
  std::vector<std::unique_ptr<HttpClient>> all;
  for (int n = 0; n < clients; ++n) all.push_back(std::make_unique<RecordingClient>(log, "c" + std::to_string(n)));
  return std::make_unique<RoundRobinHttpClient>(std::move(all));
}

void SendTo(HttpClient& client, const std::string& url, int* answered) {
  HttpRequest request;
  request.url = url;
  client.Send(std::move(request), [answered](HttpResult result) {
    if (result.response.status == 200) ++*answered;
  });
}

TEST(RoundRobinHttpClientTest, EachRequestGoesToTheNextClientWithItsCallback) {
  std::vector<std::string> log;
  auto client = Make(&log, 2);
  int answered = 0;
  for (const char* url : {"http://a/1", "http://a/2", "http://a/3"}) SendTo(*client, url, &answered);
  EXPECT_EQ(log, (std::vector<std::string>{"c0 http://a/1", "c1 http://a/2", "c0 http://a/3"}));
  EXPECT_EQ(answered, 3);
}

TEST(RoundRobinHttpClientTest, OneClientTakesEverything) {
  std::vector<std::string> log;
  auto client = Make(&log, 1);
  int answered = 0;
  SendTo(*client, "http://a/1", &answered);
  SendTo(*client, "http://a/2", &answered);
  EXPECT_EQ(log, (std::vector<std::string>{"c0 http://a/1", "c0 http://a/2"}));
  EXPECT_EQ(answered, 2);
}

}  // namespace
}  // namespace fraiseql
