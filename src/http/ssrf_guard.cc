#include "http/ssrf_guard.h"

#include <algorithm>
#include <utility>

namespace fraiseql {
namespace {

struct RefusedRange {
  IpNetwork range;
  AddressCategory category;
};

// Most specific first: the first match names the category (169.254.169.254 is metadata before it
// is link-local, 255.255.255.255 broadcast before reserved).
const std::vector<RefusedRange>& RefusedRanges() {
  static const std::vector<RefusedRange> ranges = [] {
    const std::pair<std::string_view, AddressCategory> table[] = {
        {"169.254.169.254/32", AddressCategory::kCloudMetadata},
        {"100.100.100.200/32", AddressCategory::kCloudMetadata},
        {"fd00:ec2::254/128", AddressCategory::kCloudMetadata},
        {"255.255.255.255/32", AddressCategory::kBroadcast},
        {"0.0.0.0/8", AddressCategory::kUnspecified},
        {"::/128", AddressCategory::kUnspecified},
        {"127.0.0.0/8", AddressCategory::kLoopback},
        {"::1/128", AddressCategory::kLoopback},
        {"10.0.0.0/8", AddressCategory::kPrivate},
        {"172.16.0.0/12", AddressCategory::kPrivate},
        {"192.168.0.0/16", AddressCategory::kPrivate},
        {"100.64.0.0/10", AddressCategory::kSharedAddressSpace},
        {"169.254.0.0/16", AddressCategory::kLinkLocal},
        {"fe80::/10", AddressCategory::kLinkLocal},
        {"fc00::/7", AddressCategory::kUniqueLocal},
        {"224.0.0.0/4", AddressCategory::kMulticast},
        {"ff00::/8", AddressCategory::kMulticast},
        {"240.0.0.0/4", AddressCategory::kReserved},
        {"192.0.0.0/24", AddressCategory::kReserved},
        {"198.18.0.0/15", AddressCategory::kReserved},
        {"fec0::/10", AddressCategory::kReserved},
        {"::/96", AddressCategory::kReserved},  // IPv4-compatible, deprecated; after :: and ::1
    };
    std::vector<RefusedRange> out;
    for (const auto& [text, category] : table) out.push_back({IpNetwork::Parse(text).value(), category});
    return out;
  }();
  return ranges;
}

const IpNetwork& Nat64Prefix() {
  static const IpNetwork prefix = IpNetwork::Parse("64:ff9b::/96").value();
  return prefix;
}

// The IPv4 address a NAT64 gateway would forward `address` to, if it is a NAT64 address.
std::optional<IpAddress> Nat64Embedded(const IpAddress& address) {
  if (!Nat64Prefix().Contains(address)) return std::nullopt;
  const IpAddress::Bytes& bytes = address.bytes();
  return IpAddress::V4(static_cast<uint32_t>(bytes[12]) << 24 | static_cast<uint32_t>(bytes[13]) << 16 |
                       static_cast<uint32_t>(bytes[14]) << 8 | static_cast<uint32_t>(bytes[15]));
}

std::string_view Description(AddressCategory category) {
  switch (category) {
    case AddressCategory::kPublic: return "a public address";
    case AddressCategory::kCloudMetadata: return "a cloud metadata endpoint";
    case AddressCategory::kBroadcast: return "the broadcast address";
    case AddressCategory::kUnspecified: return "an unspecified address";
    case AddressCategory::kLoopback: return "a loopback address";
    case AddressCategory::kPrivate: return "a private (RFC 1918) address";
    case AddressCategory::kSharedAddressSpace: return "a shared (carrier-grade NAT, RFC 6598) address";
    case AddressCategory::kLinkLocal: return "a link-local address";
    case AddressCategory::kUniqueLocal: return "a unique-local (RFC 4193) address";
    case AddressCategory::kMulticast: return "a multicast address";
    case AddressCategory::kReserved: return "a reserved address";
  }
  return "an address";
}

AddressClassification ClassifyDirect(const IpAddress& address) {
  for (const RefusedRange& refused : RefusedRanges()) {
    if (refused.range.Contains(address)) return {refused.category, refused.range};
  }
  return {};
}

}  // namespace

std::string_view AddressCategoryName(AddressCategory category) {
  switch (category) {
    case AddressCategory::kPublic: return "public";
    case AddressCategory::kCloudMetadata: return "cloud_metadata";
    case AddressCategory::kBroadcast: return "broadcast";
    case AddressCategory::kUnspecified: return "unspecified";
    case AddressCategory::kLoopback: return "loopback";
    case AddressCategory::kPrivate: return "private";
    case AddressCategory::kSharedAddressSpace: return "shared_address_space";
    case AddressCategory::kLinkLocal: return "link_local";
    case AddressCategory::kUniqueLocal: return "unique_local";
    case AddressCategory::kMulticast: return "multicast";
    case AddressCategory::kReserved: return "reserved";
  }
  return "unknown";
}

AddressClassification ClassifyAddress(const IpAddress& address) {
  if (const std::optional<IpAddress> embedded = Nat64Embedded(address)) return ClassifyDirect(*embedded);
  return ClassifyDirect(address);
}

Result<SsrfGuard> SsrfGuard::Create(std::span<const std::string> allow_private_targets) {
  std::vector<IpNetwork> allowed;
  allowed.reserve(allow_private_targets.size());
  for (const std::string& text : allow_private_targets) {
    Result<IpNetwork> range = IpNetwork::Parse(text);
    if (!range) {
      return Error::InvalidArgument("[security] allow_private_targets: \"" + text +
                                    "\" is not a CIDR range: " + range.error().message);
    }
    allowed.push_back(*range);
  }
  return SsrfGuard(std::move(allowed));
}

bool SsrfGuard::AllowListed(const IpAddress& address) const {
  const std::optional<IpAddress> embedded = Nat64Embedded(address);
  return std::any_of(allowed_.begin(), allowed_.end(), [&](const IpNetwork& range) {
    return range.Contains(address) || (embedded && range.Contains(*embedded));
  });
}

bool SsrfGuard::Allows(const IpAddress& address) const {
  return AllowListed(address) || ClassifyAddress(address).category == AddressCategory::kPublic;
}

std::optional<std::string> SsrfGuard::RefusalReason(const IpAddress& address) const {
  if (AllowListed(address)) return std::nullopt;
  const AddressClassification found = ClassifyAddress(address);
  if (found.category == AddressCategory::kPublic) return std::nullopt;
  std::string subject = address.ToString();
  if (const std::optional<IpAddress> embedded = Nat64Embedded(address)) {
    subject += " (NAT64 for " + embedded->ToString() + ")";
  }
  return subject + " is " + std::string(Description(found.category)) +
         "; allow it with [security] allow_private_targets = [\"" + found.range.ToString() + "\"]";
}

}  // namespace fraiseql
