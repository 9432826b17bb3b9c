#include "http/round_robin_http_client.h"

#include <utility>

namespace fraiseql {

RoundRobinHttpClient::RoundRobinHttpClient(std::vector<std::unique_ptr<HttpClient>> clients)
    : clients_(std::move(clients)) {}

void RoundRobinHttpClient::Send(HttpRequest request, Callback on_done) {
  // Relaxed: the turn only spreads the load; any order is correct.
  const size_t turn = next_.fetch_add(1, std::memory_order_relaxed) % clients_.size();
  clients_[turn]->Send(std::move(request), std::move(on_done));
}

}  // namespace fraiseql
