#include "common/holder_name.h"

#include <unistd.h>

#include <cstdio>
#include <random>

namespace fraiseql {

std::string UniqueHolderName() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof(host), "unknown");
  std::random_device device;
  char suffix[16] = {};
  std::snprintf(suffix, sizeof(suffix), "%08x", static_cast<unsigned>(device()));
  std::string holder = std::string(host) + ":" + std::to_string(::getpid()) + ":" + suffix;
  if (holder.size() > 255) holder.erase(0, holder.size() - 255);
  return holder;
}

}  // namespace fraiseql
