// IpAddress and IpNetwork: IPv4/IPv6 addresses and CIDR ranges parsed from text, and the
// containment test the SSRF guard and config validation share. Pure: no resolver, no locale.
// Thread-safety: value types; no shared state.
//
// An IPv4 address is kept in its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so "127.0.0.1" and
// "::ffff:127.0.0.1" are one and the same address here. The kernel connects both to 127.0.0.1;
// a check that told them apart could be bypassed by writing the mapped form. Likewise an IPv6
// range inside ::ffff:0:0/96 ("::ffff:127.0.0.0/104") is the IPv4 range it covers ("127.0.0.0/8").
// A consequence: an IPv6 range that covers ::ffff:0:0/96 (only "::/0" .. "::/80" do) also
// contains every IPv4 address.
//
// Accepted text (strict, so that what is validated is what is meant):
//   IPv4  four decimal octets 0-255, no leading zeros ("010.0.0.1" is refused: some libraries
//         read it as octal), nothing else ("127.1" and "0x7f.0.0.1" are refused).
//   IPv6  RFC 4291 section 2.2: up to eight groups of 1-4 hex digits (either case), at most one
//         "::", optionally ending in a dotted IPv4 address. No zone ("fe80::1%eth0"), no brackets.
//   CIDR  address "/" prefix length, decimal without leading zeros, at most 32 for IPv4 and 128
//         for IPv6. Bits beyond the prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fraiseql {

class IpAddress {
 public:
  using Bytes = std::array<uint8_t, 16>;  // network byte order

  // The IPv6 unspecified address "::".
  IpAddress() = default;

  // `address` in host byte order: V4(0x7f000001) is 127.0.0.1.
  static IpAddress V4(uint32_t address);
  // Sixteen bytes in network order; an IPv4-mapped value is an IPv4 address.
  static IpAddress V6(const Bytes& bytes);

  // nullopt when `text` is not an address in the accepted forms (see the top of this file).
  static std::optional<IpAddress> Parse(std::string_view text);

  // True for IPv4 addresses, including those written in IPv4-mapped IPv6 form.
  bool is_v4() const;
  // REQUIRES: is_v4(). In host byte order.
  uint32_t v4() const;
  // The IPv6 form (IPv4 addresses as ::ffff:a.b.c.d), network order.
  const Bytes& bytes() const { return bytes_; }

  // IPv4 as "a.b.c.d"; IPv6 in the RFC 5952 canonical form ("2001:db8::1", lowercase, the
  // longest run of two or more zero groups shortened to "::").
  std::string ToString() const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  Bytes bytes_{};
};

class IpNetwork {
 public:
  // ::/0, every address (IPv4 ones included, see the top of this file).
  IpNetwork() = default;

  // `text` is "address/prefix". kInvalidArgument, saying what is wrong, otherwise.
  static Result<IpNetwork> Parse(std::string_view text);

  // The network of `address` with `prefix_length` bits counted in the address's own family
  // (0-32 for an IPv4 address, 0-128 otherwise). nullopt when the length does not fit.
  static std::optional<IpNetwork> Of(const IpAddress& address, int prefix_length);

  bool Contains(const IpAddress& address) const;

  // The first address (host bits cleared).
  const IpAddress& address() const { return address_; }
  bool is_v4() const { return v6_prefix_length_ >= 96 && address_.is_v4(); }
  // In the network's own family: 8 for 127.0.0.0/8, 128 for ::1/128.
  int prefix_length() const { return is_v4() ? v6_prefix_length_ - 96 : v6_prefix_length_; }

  // "127.0.0.0/8", "fe80::/10".
  std::string ToString() const;

  friend auto operator<=>(const IpNetwork&, const IpNetwork&) = default;

 private:
  IpNetwork(const IpAddress& address, int v6_prefix_length);

  IpAddress address_;
  int v6_prefix_length_ = 0;  // counted over the 128-bit form
};

}  // namespace fraiseql
