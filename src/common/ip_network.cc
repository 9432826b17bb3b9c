#include "common/ip_network.h"

#include <algorithm>
#include <cassert>
#include <cstddef>

#include "common/text.h"

namespace fraiseql {
namespace {

constexpr size_t kMappedPrefixBytes = 12;  // ::ffff:0:0/96 is ten zero bytes, then 0xff 0xff
constexpr int kMappedPrefixBits = 96;

bool IsMapped(const IpAddress::Bytes& bytes) {
  return std::all_of(bytes.begin(), bytes.begin() + 10, [](uint8_t b) { return b == 0; }) &&
         bytes[10] == 0xff && bytes[11] == 0xff;
}

// A decimal number of at most `max_digits` digits, without leading zeros ("0" itself is fine),
// no larger than `max_value`.
std::optional<int> ParseDecimal(std::string_view text, size_t max_digits, int max_value) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  if (text.size() > 1 && text.front() == '0') return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (!IsAsciiDigit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > max_value) return std::nullopt;
  return value;
}

std::optional<std::array<uint8_t, 4>> ParseV4(std::string_view text) {
  std::array<uint8_t, 4> octets{};
  for (size_t i = 0; i < 4; ++i) {
    const size_t dot = text.find('.');
    const bool last = i == 3;
    if (last != (dot == std::string_view::npos)) return std::nullopt;
    const std::optional<int> octet = ParseDecimal(text.substr(0, dot), 3, 255);
    if (!octet) return std::nullopt;
    octets[i] = static_cast<uint8_t>(*octet);
    if (!last) text.remove_prefix(dot + 1);
  }
  return octets;
}

std::optional<uint16_t> ParseHexGroup(std::string_view text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    unsigned digit = 0;
    if (IsAsciiDigit(c)) {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    value = value * 16 + digit;
  }
  return static_cast<uint16_t>(value);
}

// RFC 4291 section 2.2 text: groups separated by ':', one "::" standing for one or more zero
// groups, optionally a dotted IPv4 address as the last 32 bits.
std::optional<IpAddress::Bytes> ParseV6(std::string_view text) {
  std::array<uint16_t, 8> groups{};
  size_t count = 0;
  std::optional<size_t> gap;  // groups[gap..] are the ones after "::"
  size_t pos = 0;
  if (text.starts_with("::")) {
    gap = 0;
    pos = 2;
  } else if (text.starts_with(":")) {
    return std::nullopt;  // a lone leading ':'
  }
  while (pos < text.size()) {
    size_t end = text.find(':', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view piece = text.substr(pos, end - pos);
    if (piece.empty()) return std::nullopt;  // ":::" or a second "::" right after one
    if (piece.find('.') != std::string_view::npos) {
      // The embedded IPv4 address ends the text and takes the last two groups.
      if (end != text.size() || count > 6) return std::nullopt;
      const std::optional<std::array<uint8_t, 4>> v4 = ParseV4(piece);
      if (!v4) return std::nullopt;
      groups[count++] = static_cast<uint16_t>(((*v4)[0] << 8) | (*v4)[1]);
      groups[count++] = static_cast<uint16_t>(((*v4)[2] << 8) | (*v4)[3]);
      pos = end;
      break;
    }
    const std::optional<uint16_t> group = ParseHexGroup(piece);
    if (!group || count == 8) return std::nullopt;
    groups[count++] = *group;
    if (end == text.size()) {
      pos = end;
      break;
    }
    if (end + 1 < text.size() && text[end + 1] == ':') {
      if (gap) return std::nullopt;  // two "::"
      gap = count;
      pos = end + 2;
    } else {
      pos = end + 1;
      if (pos == text.size()) return std::nullopt;  // a lone trailing ':'
    }
  }
  if (gap ? count > 7 : count != 8) return std::nullopt;

  std::array<uint16_t, 8> expanded{};
  if (gap) {
    const size_t tail = count - *gap;
    std::copy_n(groups.begin(), *gap, expanded.begin());
    std::copy_n(groups.begin() + static_cast<std::ptrdiff_t>(*gap), tail,
                expanded.end() - static_cast<std::ptrdiff_t>(tail));
  } else {
    expanded = groups;
  }
  IpAddress::Bytes bytes{};
  for (size_t i = 0; i < 8; ++i) {
    bytes[2 * i] = static_cast<uint8_t>(expanded[i] >> 8);
    bytes[2 * i + 1] = static_cast<uint8_t>(expanded[i] & 0xff);
  }
  return bytes;
}

}  // namespace

IpAddress IpAddress::V4(uint32_t address) {
  IpAddress out;
  out.bytes_[10] = 0xff;
  out.bytes_[11] = 0xff;
  for (size_t i = 0; i < 4; ++i) {
    out.bytes_[kMappedPrefixBytes + i] = static_cast<uint8_t>(address >> (24 - 8 * i));
  }
  return out;
}

IpAddress IpAddress::V6(const Bytes& bytes) {
  IpAddress out;
  out.bytes_ = bytes;
  return out;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.find(':') == std::string_view::npos) {
    const std::optional<std::array<uint8_t, 4>> octets = ParseV4(text);
    if (!octets) return std::nullopt;
    return V4(static_cast<uint32_t>((*octets)[0]) << 24 | static_cast<uint32_t>((*octets)[1]) << 16 |
              static_cast<uint32_t>((*octets)[2]) << 8 | static_cast<uint32_t>((*octets)[3]));
  }
  const std::optional<Bytes> bytes = ParseV6(text);
  if (!bytes) return std::nullopt;
  return V6(*bytes);
}

bool IpAddress::is_v4() const { return IsMapped(bytes_); }

uint32_t IpAddress::v4() const {
  assert(is_v4());
  return static_cast<uint32_t>(bytes_[12]) << 24 | static_cast<uint32_t>(bytes_[13]) << 16 |
         static_cast<uint32_t>(bytes_[14]) << 8 | static_cast<uint32_t>(bytes_[15]);
}

std::string IpAddress::ToString() const {
  if (is_v4()) {
    return std::to_string(bytes_[12]) + "." + std::to_string(bytes_[13]) + "." + std::to_string(bytes_[14]) +
           "." + std::to_string(bytes_[15]);
  }
  std::array<unsigned, 8> groups{};
  for (size_t i = 0; i < 8; ++i) groups[i] = static_cast<unsigned>(bytes_[2 * i] << 8 | bytes_[2 * i + 1]);
  // RFC 5952 section 4.2: shorten the longest run of at least two zero groups, the first on a tie.
  size_t best_start = 8;
  size_t best_length = 1;
  for (size_t i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_length) {
      best_start = i;
      best_length = j - i;
    }
    i = j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_length - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    // Lowercase hex, no leading zeros (RFC 5952 sections 4.1 and 4.3).
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned digit = (groups[i] >> shift) & 0xf;
      if (digit != 0 || started || shift == 0) {
        out += kHex[digit];
        started = true;
      }
    }
  }
  return out;
}

IpNetwork::IpNetwork(const IpAddress& address, int v6_prefix_length) : v6_prefix_length_(v6_prefix_length) {
  IpAddress::Bytes bytes = address.bytes();
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int bits_here = std::clamp(v6_prefix_length - static_cast<int>(8 * i), 0, 8);
    bytes[i] = static_cast<uint8_t>(bytes[i] & static_cast<uint8_t>(0xff00u >> bits_here));
  }
  address_ = IpAddress::V6(bytes);
}

std::optional<IpNetwork> IpNetwork::Of(const IpAddress& address, int prefix_length) {
  const int max = address.is_v4() ? 32 : 128;
  if (prefix_length < 0 || prefix_length > max) return std::nullopt;
  return IpNetwork(address, address.is_v4() ? prefix_length + kMappedPrefixBits : prefix_length);
}

Result<IpNetwork> IpNetwork::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Error::InvalidArgument("a CIDR range needs a prefix length, as in \"127.0.0.0/8\" or \"::1/128\"");
  }
  const std::string_view address_text = text.substr(0, slash);
  const std::string_view prefix_text = text.substr(slash + 1);
  const std::optional<IpAddress> address = IpAddress::Parse(address_text);
  if (!address) {
    return Error::InvalidArgument("\"" + std::string(address_text) + "\" is not an IPv4 or IPv6 address");
  }
  // Written in IPv6 form, the length counts over 128 bits even for a mapped IPv4 address.
  const bool written_as_v4 = address_text.find(':') == std::string_view::npos;
  const int max = written_as_v4 ? 32 : 128;
  const std::optional<int> prefix = ParseDecimal(prefix_text, 3, max);
  if (!prefix) {
    return Error::InvalidArgument("\"" + std::string(prefix_text) + "\" is not a prefix length from 0 to " +
                                  std::to_string(max));
  }
  return IpNetwork(*address, written_as_v4 ? *prefix + kMappedPrefixBits : *prefix);
}

bool IpNetwork::Contains(const IpAddress& address) const {
  return IpNetwork(address, v6_prefix_length_).address_ == address_;
}

std::string IpNetwork::ToString() const { return address_.ToString() + "/" + std::to_string(prefix_length()); }

}  // namespace fraiseql
