#include "spec/device_filter.h"

#include <gtest/gtest.h>

namespace migctl::spec {
namespace {

TEST(ParseDeviceFilter, SplitsDeviceAndVendor) {
  auto filter = ParseDeviceFilter("0x20B010DE");
  ASSERT_TRUE(filter.ok()) << filter.error().message;
  EXPECT_EQ(filter->text, "0x20B010DE");
  EXPECT_EQ(filter->device_id, 0x20B0);
  EXPECT_EQ(filter->vendor_id, 0x10DE);
  EXPECT_FALSE(filter->subsystem_device_id);
  EXPECT_FALSE(filter->subsystem_vendor_id);
}

TEST(ParseDeviceFilter, PrefixAndCaseAreOptional) {
  for (const char* text : {"20b010de", "0X20B010DE", "0x20b010De"}) {
    auto filter = ParseDeviceFilter(text);
    ASSERT_TRUE(filter.ok()) << text;
    EXPECT_EQ(filter->device_id, 0x20B0) << text;
    EXPECT_EQ(filter->vendor_id, 0x10DE) << text;
  }
}

TEST(ParseDeviceFilter, SubsystemPartIsParsed) {
  auto filter = ParseDeviceFilter("0x20B010DE:0x147E10DE");
  ASSERT_TRUE(filter.ok()) << filter.error().message;
  EXPECT_EQ(filter->device_id, 0x20B0);
  EXPECT_EQ(filter->subsystem_device_id, 0x147E);
  EXPECT_EQ(filter->subsystem_vendor_id, 0x10DE);
}

TEST(ParseDeviceFilter, MalformedFiltersNameTheBadPart) {
  struct Case {
    const char* text;
    const char* bad;
  };
  for (const Case& c : std::initializer_list<Case>{{"", "''"},
                                                   {"0x", "'0x'"},
                                                   {"0x20B010D", "'0x20B010D'"},
                                                   {"0x20B010DE0", "'0x20B010DE0'"},
                                                   {"0x20B010DG", "'0x20B010DG'"},
                                                   {"A100", "'A100'"},
                                                   {"-0x20B010D", "'-0x20B010D'"},
                                                   {"+20B010DE", "'+20B010DE'"},
                                                   {"0x20B010DE:", "''"},
                                                   {"0x20B010DE:0x147E", "'0x147E'"},
                                                   {"0x20B010DE:0x147E10DE:0x1", "'0x147E10DE:0x1'"},
                                                   {" 0x20B010DE", "' 0x20B010DE'"}}) {
    auto filter = ParseDeviceFilter(c.text);
    ASSERT_FALSE(filter.ok()) << c.text;
    EXPECT_EQ(filter.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(filter.error().message.find(std::string(c.bad) + " is not 8 hex digits"), std::string::npos)
        << c.text << ": " << filter.error().message;
    EXPECT_NE(filter.error().message.find("0xDDDDVVVV"), std::string::npos);
  }
}

}  // namespace
}  // namespace migctl::spec
