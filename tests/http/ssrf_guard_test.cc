// Tests for the SSRF guard and the address parser under it (common/ip_network.h): the guard is
// only as good as the parser, so both are tested here, from the text an operator or a DNS answer
// can produce.
#include "http/ssrf_guard.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/ip_network.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(std::string_view text) {
  const std::optional<IpAddress> address = IpAddress::Parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress());
}

IpNetwork Net(std::string_view text) {
  Result<IpNetwork> network = IpNetwork::Parse(text);
  EXPECT_TRUE(network.has_value()) << text << ": " << (network ? "" : network.error().message);
  return network ? *network : IpNetwork();
}

SsrfGuard GuardAllowing(std::vector<std::string> ranges) {
  Result<SsrfGuard> guard = SsrfGuard::Create(ranges);
  EXPECT_TRUE(guard.has_value());
  return guard ? *guard : SsrfGuard();
}

// ---- IpAddress ----

TEST(IpAddress, ParsesDottedQuads) {
  EXPECT_EQ(Ip("127.0.0.1").v4(), 0x7f000001u);
  EXPECT_EQ(Ip("0.0.0.0").v4(), 0u);
  EXPECT_EQ(Ip("255.255.255.255").v4(), 0xffffffffu);
  EXPECT_EQ(Ip("192.168.1.20").ToString(), "192.168.1.20");
  EXPECT_TRUE(Ip("8.8.8.8").is_v4());
}

TEST(IpAddress, RefusesAmbiguousOrMalformedIpv4) {
  for (std::string_view text :
       {"", "1", "127.1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "010.0.0.1", "1.2.3.04", "0x7f.0.0.1",
        "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "+1.2.3.4", "1.2.3.4/32", "1.2.3.1000",
        "2130706433", "１.2.3.4"}) {
    EXPECT_FALSE(IpAddress::Parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(IpAddress, ParsesIpv6Forms) {
  EXPECT_EQ(Ip("::1").ToString(), "::1");
  EXPECT_EQ(Ip("::").ToString(), "::");
  EXPECT_EQ(Ip("0:0:0:0:0:0:0:1").ToString(), "::1");
  EXPECT_EQ(Ip("2001:DB8::A").ToString(), "2001:db8::a");
  EXPECT_EQ(Ip("2001:0db8:0000:0000:0000:ff00:0042:8329").ToString(), "2001:db8::ff00:42:8329");
  EXPECT_EQ(Ip("fe80::").ToString(), "fe80::");
  EXPECT_EQ(Ip("1::").ToString(), "1::");
  EXPECT_EQ(Ip("1:2:3:4:5:6:7::").ToString(), "1:2:3:4:5:6:7:0");
  EXPECT_EQ(Ip("::2:3:4:5:6:7:8").ToString(), "0:2:3:4:5:6:7:8");
  EXPECT_EQ(Ip("1:2:3:4:5:6:7:8").ToString(), "1:2:3:4:5:6:7:8");
  EXPECT_EQ(Ip("64:ff9b::192.0.2.33").ToString(), "64:ff9b::c000:221");
  EXPECT_EQ(Ip("1:2:3:4:5:6:1.2.3.4").ToString(), "1:2:3:4:5:6:102:304");
  EXPECT_FALSE(Ip("::1").is_v4());
}

TEST(IpAddress, CanonicalFormShortensTheLongestZeroRunFirstOnATie) {
  // RFC 5952 sections 4.2.2 and 4.2.3.
  EXPECT_EQ(Ip("2001:db8:0:1:1:1:1:1").ToString(), "2001:db8:0:1:1:1:1:1");
  EXPECT_EQ(Ip("2001:0:0:1:0:0:0:1").ToString(), "2001:0:0:1::1");
  EXPECT_EQ(Ip("2001:db8:0:0:1:0:0:1").ToString(), "2001:db8::1:0:0:1");
}

TEST(IpAddress, RefusesMalformedIpv6) {
  for (std::string_view text :
       {":", ":::", "::1::", "1::2::3", ":1::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8", "12345::", "g::", "1:", ":1", "1:2:3:4:5:6:7:", "fe80::1%eth0", "[::1]", "::1.2.3",
        "::1.2.3.4.5", "1.2.3.4::", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", ":: 1", "::010.0.0.1"}) {
    EXPECT_FALSE(IpAddress::Parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(IpAddress, MappedIpv6IsTheIpv4Address) {
  const IpAddress mapped = Ip("::ffff:127.0.0.1");
  EXPECT_TRUE(mapped.is_v4());
  EXPECT_EQ(mapped, Ip("127.0.0.1"));
  EXPECT_EQ(mapped.ToString(), "127.0.0.1");
  EXPECT_EQ(Ip("::FFFF:7f00:1"), Ip("127.0.0.1"));
  EXPECT_EQ(IpAddress::V4(0x0a000001), Ip("10.0.0.1"));
  // IPv4-compatible (::a.b.c.d, deprecated) is not mapped: it stays an IPv6 address.
  EXPECT_FALSE(Ip("::127.0.0.1").is_v4());
}

// ---- IpNetwork ----

TEST(IpNetwork, ParsesRangesOfBothFamilies) {
  EXPECT_EQ(Net("127.0.0.0/8").ToString(), "127.0.0.0/8");
  EXPECT_EQ(Net("127.0.0.0/8").prefix_length(), 8);
  EXPECT_TRUE(Net("127.0.0.0/8").is_v4());
  EXPECT_EQ(Net("::1/128").ToString(), "::1/128");
  EXPECT_FALSE(Net("::1/128").is_v4());
  EXPECT_EQ(Net("0.0.0.0/0").ToString(), "0.0.0.0/0");
  EXPECT_EQ(Net("::/0").ToString(), "::/0");
  EXPECT_EQ(Net("fe80::/10").ToString(), "fe80::/10");
}

TEST(IpNetwork, ClearsHostBits) {
  EXPECT_EQ(Net("10.1.2.3/8").ToString(), "10.0.0.0/8");
  EXPECT_EQ(Net("172.31.255.255/12").ToString(), "172.16.0.0/12");
  EXPECT_EQ(Net("fe80::1234/10").ToString(), "fe80::/10");
  EXPECT_EQ(Net("1.2.3.4/0").ToString(), "0.0.0.0/0");
  EXPECT_EQ(Net("1.2.3.4/32").ToString(), "1.2.3.4/32");
  EXPECT_EQ(Net("10.1.2.3/8"), Net("10.0.0.0/8"));
}

TEST(IpNetwork, MappedRangesAreIpv4Ranges) {
  EXPECT_EQ(Net("::ffff:127.0.0.0/104"), Net("127.0.0.0/8"));
  EXPECT_EQ(Net("::ffff:127.0.0.0/104").ToString(), "127.0.0.0/8");
  EXPECT_EQ(Net("::ffff:0:0/96").ToString(), "0.0.0.0/0");
  EXPECT_TRUE(Net("::ffff:10.0.0.0/104").Contains(Ip("10.9.9.9")));
  EXPECT_TRUE(Net("10.0.0.0/8").Contains(Ip("::ffff:10.9.9.9")));
  // Wider than the mapped block: an IPv6 range, which still covers the IPv4 addresses in it.
  EXPECT_FALSE(Net("::ffff:0:0/95").is_v4());
  EXPECT_TRUE(Net("::/0").Contains(Ip("1.2.3.4")));
}

TEST(IpNetwork, ContainmentAtTheEdges) {
  const IpNetwork net = Net("172.16.0.0/12");
  EXPECT_TRUE(net.Contains(Ip("172.16.0.0")));
  EXPECT_TRUE(net.Contains(Ip("172.31.255.255")));
  EXPECT_FALSE(net.Contains(Ip("172.15.255.255")));
  EXPECT_FALSE(net.Contains(Ip("172.32.0.0")));
  const IpNetwork v6 = Net("fc00::/7");
  EXPECT_TRUE(v6.Contains(Ip("fc00::")));
  EXPECT_TRUE(v6.Contains(Ip("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(v6.Contains(Ip("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(v6.Contains(Ip("fe00::")));
  EXPECT_TRUE(Net("1.2.3.4/32").Contains(Ip("1.2.3.4")));
  EXPECT_FALSE(Net("1.2.3.4/32").Contains(Ip("1.2.3.5")));
  EXPECT_TRUE(Net("0.0.0.0/0").Contains(Ip("255.255.255.255")));
  EXPECT_FALSE(Net("0.0.0.0/0").Contains(Ip("::1")));
  EXPECT_FALSE(Net("::1/128").Contains(Ip("127.0.0.1")));
  EXPECT_FALSE(Net("127.0.0.0/8").Contains(Ip("::1")));
}

TEST(IpNetwork, OfCountsThePrefixInTheAddressFamily) {
  EXPECT_EQ(IpNetwork::Of(Ip("10.0.0.0"), 8), Net("10.0.0.0/8"));
  EXPECT_EQ(IpNetwork::Of(Ip("fe80::"), 10), Net("fe80::/10"));
  EXPECT_FALSE(IpNetwork::Of(Ip("10.0.0.0"), 33).has_value());
  EXPECT_FALSE(IpNetwork::Of(Ip("::"), 129).has_value());
  EXPECT_FALSE(IpNetwork::Of(Ip("::"), -1).has_value());
}

TEST(IpNetwork, RefusesMalformedRangesSayingWhy) {
  struct Case {
    std::string_view text;
    std::string_view message;
  };
  for (const Case& c : std::vector<Case>{
           {"127.0.0.1", "needs a prefix length"},
           {"10.0.0.0/33", "\"33\" is not a prefix length from 0 to 32"},
           {"::1/129", "from 0 to 128"},
           {"::ffff:1.2.3.4/33", ""},  // written as IPv6: the length counts over 128 bits, so valid
           {"10.0.0.0/", "\"\" is not a prefix length"},
           {"10.0.0.0/08", "\"08\" is not a prefix length"},
           {"10.0.0.0/-1", "is not a prefix length"},
           {"10.0.0.0/8/8", "is not a prefix length"},
           {"10.0.0.0/ 8", "is not a prefix length"},
           {"10.0.0/8", "\"10.0.0\" is not an IPv4 or IPv6 address"},
           {"localhost/8", "is not an IPv4 or IPv6 address"},
           {"/8", "\"\" is not an IPv4 or IPv6 address"},
           {"", "needs a prefix length"},
       }) {
    Result<IpNetwork> parsed = IpNetwork::Parse(c.text);
    if (c.message.empty()) {
      EXPECT_TRUE(parsed.has_value()) << c.text;
      continue;
    }
    ASSERT_FALSE(parsed.has_value()) << c.text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(parsed.error().message, HasSubstr(std::string(c.message))) << c.text;
  }
}

// ---- Classification ----

struct Expected {
  std::string_view address;
  AddressCategory category;
  std::string_view range;
};

class ClassifyTest : public ::testing::TestWithParam<Expected> {};

TEST_P(ClassifyTest, NamesTheNarrowestRange) {
  const AddressClassification found = ClassifyAddress(Ip(GetParam().address));
  EXPECT_EQ(AddressCategoryName(found.category), AddressCategoryName(GetParam().category)) << GetParam().address;
  if (GetParam().category != AddressCategory::kPublic) {
    EXPECT_EQ(found.range.ToString(), GetParam().range);
  }
}

using C = AddressCategory;
INSTANTIATE_TEST_SUITE_P(
    EveryRange, ClassifyTest,
    ::testing::Values(
        // Each refused range at its first and last address, and the public neighbours outside.
        Expected{"127.0.0.1", C::kLoopback, "127.0.0.0/8"}, Expected{"127.0.0.0", C::kLoopback, "127.0.0.0/8"},
        Expected{"127.255.255.255", C::kLoopback, "127.0.0.0/8"}, Expected{"126.255.255.255", C::kPublic, ""},
        Expected{"128.0.0.0", C::kPublic, ""}, Expected{"::1", C::kLoopback, "::1/128"},
        Expected{"::ffff:127.0.0.1", C::kLoopback, "127.0.0.0/8"},
        Expected{"10.0.0.0", C::kPrivate, "10.0.0.0/8"}, Expected{"10.255.255.255", C::kPrivate, "10.0.0.0/8"},
        Expected{"9.255.255.255", C::kPublic, ""}, Expected{"11.0.0.0", C::kPublic, ""},
        Expected{"172.16.0.0", C::kPrivate, "172.16.0.0/12"},
        Expected{"172.31.255.255", C::kPrivate, "172.16.0.0/12"}, Expected{"172.15.255.255", C::kPublic, ""},
        Expected{"172.32.0.0", C::kPublic, ""}, Expected{"192.168.0.0", C::kPrivate, "192.168.0.0/16"},
        Expected{"192.168.255.255", C::kPrivate, "192.168.0.0/16"}, Expected{"192.167.255.255", C::kPublic, ""},
        Expected{"192.169.0.0", C::kPublic, ""},
        Expected{"169.254.0.1", C::kLinkLocal, "169.254.0.0/16"},
        Expected{"169.254.255.255", C::kLinkLocal, "169.254.0.0/16"}, Expected{"169.253.255.255", C::kPublic, ""},
        Expected{"169.255.0.0", C::kPublic, ""}, Expected{"fe80::1", C::kLinkLocal, "fe80::/10"},
        Expected{"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::kLinkLocal, "fe80::/10"},
        Expected{"100.64.0.0", C::kSharedAddressSpace, "100.64.0.0/10"},
        Expected{"100.127.255.255", C::kSharedAddressSpace, "100.64.0.0/10"},
        Expected{"100.63.255.255", C::kPublic, ""}, Expected{"100.128.0.0", C::kPublic, ""},
        Expected{"fc00::", C::kUniqueLocal, "fc00::/7"}, Expected{"fd12:3456::1", C::kUniqueLocal, "fc00::/7"},
        Expected{"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::kPublic, ""},
        Expected{"0.0.0.0", C::kUnspecified, "0.0.0.0/8"}, Expected{"0.255.255.255", C::kUnspecified, "0.0.0.0/8"},
        Expected{"1.0.0.0", C::kPublic, ""}, Expected{"::", C::kUnspecified, "::/128"},
        Expected{"169.254.169.254", C::kCloudMetadata, "169.254.169.254/32"},
        Expected{"::ffff:169.254.169.254", C::kCloudMetadata, "169.254.169.254/32"},
        Expected{"169.254.169.253", C::kLinkLocal, "169.254.0.0/16"},
        Expected{"fd00:ec2::254", C::kCloudMetadata, "fd00:ec2::254/128"},
        Expected{"fd00:ec2::253", C::kUniqueLocal, "fc00::/7"},
        Expected{"100.100.100.200", C::kCloudMetadata, "100.100.100.200/32"},
        Expected{"100.100.100.201", C::kSharedAddressSpace, "100.64.0.0/10"},
        Expected{"224.0.0.1", C::kMulticast, "224.0.0.0/4"},
        Expected{"239.255.255.255", C::kMulticast, "224.0.0.0/4"}, Expected{"223.255.255.255", C::kPublic, ""},
        Expected{"ff02::1", C::kMulticast, "ff00::/8"}, Expected{"240.0.0.0", C::kReserved, "240.0.0.0/4"},
        Expected{"255.255.255.254", C::kReserved, "240.0.0.0/4"},
        Expected{"255.255.255.255", C::kBroadcast, "255.255.255.255/32"},
        Expected{"192.0.0.8", C::kReserved, "192.0.0.0/24"}, Expected{"192.0.1.0", C::kPublic, ""},
        Expected{"198.18.0.1", C::kReserved, "198.18.0.0/15"},
        Expected{"198.19.255.255", C::kReserved, "198.18.0.0/15"}, Expected{"198.20.0.0", C::kPublic, ""},
        Expected{"fec0::1", C::kReserved, "fec0::/10"},
        // NAT64 (64:ff9b::/96) is judged by the IPv4 address it embeds.
        Expected{"64:ff9b::7f00:1", C::kLoopback, "127.0.0.0/8"},
        Expected{"64:ff9b::169.254.169.254", C::kCloudMetadata, "169.254.169.254/32"},
        Expected{"64:ff9b::8.8.8.8", C::kPublic, ""},
        // Plain public addresses of both families.
        Expected{"8.8.8.8", C::kPublic, ""}, Expected{"93.184.216.34", C::kPublic, ""},
        Expected{"2606:4700:4700::1111", C::kPublic, ""}, Expected{"2001:db8::1", C::kPublic, ""},
        Expected{"::127.0.0.1", C::kReserved, "::/96"}, Expected{"::1:0:0", C::kPublic, ""}));

// ---- The guard ----

TEST(SsrfGuard, DefaultRefusesEveryNonPublicAddress) {
  const SsrfGuard guard;
  for (std::string_view text : {"127.0.0.1", "::1", "10.1.1.1", "172.20.0.1", "192.168.1.1", "169.254.1.1",
                                "fe80::1", "100.64.0.1", "fd00::1", "0.0.0.0", "::", "169.254.169.254",
                                "fd00:ec2::254", "100.100.100.200", "224.0.0.1", "240.0.0.1", "ff02::1",
                                "255.255.255.255", "::ffff:10.0.0.1", "64:ff9b::a00:1"}) {
    EXPECT_FALSE(guard.Allows(Ip(text))) << text;
    EXPECT_TRUE(guard.RefusalReason(Ip(text)).has_value()) << text;
  }
  for (std::string_view text : {"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"}) {
    EXPECT_TRUE(guard.Allows(Ip(text))) << text;
    EXPECT_EQ(guard.RefusalReason(Ip(text)), std::nullopt) << text;
  }
}

TEST(SsrfGuard, ReasonNamesTheCategoryAndTheAllowListEntry) {
  const SsrfGuard guard;
  EXPECT_EQ(guard.RefusalReason(Ip("127.0.0.1")),
            "127.0.0.1 is a loopback address; allow it with [security] allow_private_targets = [\"127.0.0.0/8\"]");
  EXPECT_EQ(guard.RefusalReason(Ip("::1")),
            "::1 is a loopback address; allow it with [security] allow_private_targets = [\"::1/128\"]");
  EXPECT_EQ(guard.RefusalReason(Ip("::ffff:10.2.3.4")),
            "10.2.3.4 is a private (RFC 1918) address; allow it with [security] allow_private_targets = "
            "[\"10.0.0.0/8\"]");
  EXPECT_THAT(guard.RefusalReason(Ip("169.254.169.254")).value_or(""),
              HasSubstr("169.254.169.254 is a cloud metadata endpoint; allow it with [security] "
                        "allow_private_targets = [\"169.254.169.254/32\"]"));
  EXPECT_THAT(guard.RefusalReason(Ip("64:ff9b::7f00:1")).value_or(""),
              HasSubstr("64:ff9b::7f00:1 (NAT64 for 127.0.0.1) is a loopback address"));
  EXPECT_THAT(guard.RefusalReason(Ip("100.64.1.1")).value_or(""), HasSubstr("carrier-grade NAT"));
  EXPECT_THAT(guard.RefusalReason(Ip("fe80::1")).value_or(""), HasSubstr("link-local"));
  EXPECT_THAT(guard.RefusalReason(Ip("fd00::1")).value_or(""), HasSubstr("unique-local"));
  EXPECT_THAT(guard.RefusalReason(Ip("0.0.0.0")).value_or(""), HasSubstr("unspecified"));
  EXPECT_THAT(guard.RefusalReason(Ip("239.1.1.1")).value_or(""), HasSubstr("multicast"));
  EXPECT_THAT(guard.RefusalReason(Ip("255.255.255.255")).value_or(""), HasSubstr("broadcast"));
  EXPECT_THAT(guard.RefusalReason(Ip("250.1.1.1")).value_or(""), HasSubstr("reserved"));
}

TEST(SsrfGuard, TheSuggestedEntryAllowsTheAddress) {
  // Following the advice in the message must work, for every category.
  for (std::string_view text : {"127.0.0.1", "::1", "10.1.1.1", "172.20.0.1", "192.168.1.1", "169.254.1.1",
                                "fe80::1", "100.64.0.1", "fd00::1", "0.0.0.0", "169.254.169.254",
                                "fd00:ec2::254", "100.100.100.200", "224.0.0.1", "240.0.0.1", "ff02::1",
                                "64:ff9b::a00:1"}) {
    const std::string reason = SsrfGuard().RefusalReason(Ip(text)).value_or("");
    const size_t open = reason.find("[\"");
    const size_t close = reason.find("\"]");
    ASSERT_NE(open, std::string::npos) << reason;
    const std::string range = reason.substr(open + 2, close - open - 2);
    EXPECT_TRUE(GuardAllowing({range}).Allows(Ip(text))) << text << " with " << range;
  }
}

TEST(SsrfGuard, AllowListedRangesAreAllowedAndOnlyThose) {
  const SsrfGuard guard = GuardAllowing({"127.0.0.0/8", "10.1.0.0/16", "fd00::/8"});
  EXPECT_TRUE(guard.Allows(Ip("127.0.0.1")));
  EXPECT_TRUE(guard.Allows(Ip("127.255.0.9")));
  EXPECT_TRUE(guard.Allows(Ip("::ffff:127.0.0.1")));  // the mapped form of an allowed address
  EXPECT_TRUE(guard.Allows(Ip("10.1.200.3")));
  EXPECT_TRUE(guard.Allows(Ip("fd00:ec2::254")));  // an explicit range wins, metadata included
  EXPECT_TRUE(guard.Allows(Ip("64:ff9b::7f00:1")));  // NAT64 of an allowed IPv4 address
  EXPECT_FALSE(guard.Allows(Ip("::1")));  // 127.0.0.0/8 says nothing about IPv6 loopback
  EXPECT_FALSE(guard.Allows(Ip("10.2.0.1")));
  EXPECT_FALSE(guard.Allows(Ip("192.168.0.1")));
  EXPECT_FALSE(guard.Allows(Ip("169.254.169.254")));
  EXPECT_EQ(guard.RefusalReason(Ip("127.0.0.1")), std::nullopt);
  EXPECT_TRUE(guard.Allows(Ip("8.8.8.8")));
  EXPECT_EQ(guard.allowed().size(), 3u);
}

TEST(SsrfGuard, AllowingEverythingTurnsTheGuardOff) {
  const SsrfGuard guard = GuardAllowing({"0.0.0.0/0", "::/0"});
  for (std::string_view text : {"127.0.0.1", "::1", "169.254.169.254", "fd00:ec2::254", "255.255.255.255"}) {
    EXPECT_TRUE(guard.Allows(Ip(text))) << text;
  }
}

TEST(SsrfGuard, CreateRejectsABadEntryNamingIt) {
  const std::vector<std::string> ranges = {"127.0.0.0/8", "10.0.0.0/33"};
  Result<SsrfGuard> guard = SsrfGuard::Create(ranges);
  ASSERT_FALSE(guard.has_value());
  EXPECT_EQ(guard.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(guard.error().message, HasSubstr("\"10.0.0.0/33\" is not a CIDR range"));
  const std::vector<std::string> bare = {"127.0.0.1"};
  EXPECT_FALSE(SsrfGuard::Create(bare).has_value());
}

TEST(SsrfGuard, CategoryNamesAreMetricLabels) {
  EXPECT_EQ(AddressCategoryName(AddressCategory::kPublic), "public");
  EXPECT_EQ(AddressCategoryName(AddressCategory::kCloudMetadata), "cloud_metadata");
  EXPECT_EQ(AddressCategoryName(AddressCategory::kSharedAddressSpace), "shared_address_space");
  EXPECT_EQ(AddressCategoryName(AddressCategory::kLinkLocal), "link_local");
}

}  // namespace
}  // namespace fraiseql
