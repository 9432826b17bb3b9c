// SsrfGuard: decides whether the HTTP engine may connect to an address, so that a webhook URL (or
// a DNS answer an attacker controls) cannot reach loopback, the private network or cloud metadata.
// Thread-safety: immutable after construction; one guard may be shared by any number of threads.
//
// The guard judges addresses, never host names: the curl engine asks it about every address it
// is about to connect to, after DNS (curl_engine.h), so neither rebinding nor a hostname that
// resolves to 127.0.0.1 gets past it. Pure: no I/O.
//
// Refused unless inside an allow-listed range ([security] allow_private_targets), most specific
// first, so the reason names the narrowest category:
//   cloud metadata   169.254.169.254 (AWS, GCP, Azure, ...), 100.100.100.200 (Alibaba), fd00:ec2::254 (AWS)
//   broadcast        255.255.255.255
//   unspecified      0.0.0.0/8, ::
//   loopback         127.0.0.0/8, ::1
//   private          10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918)
//   shared (CGNAT)   100.64.0.0/10 (RFC 6598)
//   link-local       169.254.0.0/16, fe80::/10
//   unique-local     fc00::/7
//   multicast        224.0.0.0/4, ff00::/8
//   reserved         240.0.0.0/4, 192.0.0.0/24 (IETF protocol assignments), 198.18.0.0/15
//                    (benchmarking, in use as internal space), fec0::/10 (deprecated site-local),
//                    ::/96 (deprecated IPv4-compatible, "::127.0.0.1")
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as their IPv4 address (ip_network.h),
// and so are NAT64 addresses of the well-known prefix 64:ff9b::/96 (RFC 6052), which a NAT64
// gateway would forward to the embedded IPv4 address.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_network.h"
#include "common/result.h"

namespace fraiseql {

enum class AddressCategory {
  kPublic,
  kCloudMetadata,
  kBroadcast,
  kUnspecified,
  kLoopback,
  kPrivate,
  kSharedAddressSpace,
  kLinkLocal,
  kUniqueLocal,
  kMulticast,
  kReserved,
};

// "public", "cloud_metadata", "broadcast", "unspecified", "loopback", "private",
// "shared_address_space", "link_local", "unique_local", "multicast", "reserved".
std::string_view AddressCategoryName(AddressCategory category);

// Which refused range an address falls in, ignoring any allow-list.
struct AddressClassification {
  AddressCategory category = AddressCategory::kPublic;
  // The narrowest refused range containing the address (for NAT64, the embedded IPv4 address);
  // meaningless for kPublic.
  IpNetwork range;
};

AddressClassification ClassifyAddress(const IpAddress& address);

class SsrfGuard {
 public:
  // Allows public addresses only.
  SsrfGuard() = default;
  explicit SsrfGuard(std::vector<IpNetwork> allowed) : allowed_(std::move(allowed)) {}

  // From the text of [security] allow_private_targets. kInvalidArgument naming the first entry
  // that is not a CIDR range.
  static Result<SsrfGuard> Create(std::span<const std::string> allow_private_targets);

  // nullopt when the address may be connected to, otherwise why not, phrased for an operator:
  //   127.0.0.1 is a loopback address; allow it with [security] allow_private_targets = ["127.0.0.0/8"]
  // An address inside an allow-listed range is always allowed (for NAT64, it is enough that the
  // embedded IPv4 address is).
  std::optional<std::string> RefusalReason(const IpAddress& address) const;
  bool Allows(const IpAddress& address) const;

  const std::vector<IpNetwork>& allowed() const { return allowed_; }

 private:
  bool AllowListed(const IpAddress& address) const;

  std::vector<IpNetwork> allowed_;
};

}  // namespace fraiseql
