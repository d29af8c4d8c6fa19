// dora-runtime's pieces without a dataflow: the operator list from the daemon, the ABI's memory
// rules, and SharedLibraryOperator against the fixture operators (tests/fixtures/operators).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "operator_runtime/shared_library.hpp"
#include "operator_runtime/spec.hpp"
#include "testing/text.hpp"

#define EXPECT_CONTAINS(haystack, needle) EXPECT_TRUE(dora::testing::contains(haystack, needle))

namespace dora::operator_runtime {
namespace {

std::string fixture(const std::string& name) {
    return std::string(DORA_FIXTURE_OPERATORS) + "/libop_" + name + ".so";
}

// An operator of a fixture library whose outputs land in `sent` ("<id>=<bytes>").
Result<std::unique_ptr<SharedLibraryOperator>> load(const std::string& id, const std::string& name,
                                                    std::vector<std::string>& sent) {
    OperatorSpec spec{id, fixture(name), {"tick"}, {"out"}};
    return SharedLibraryOperator::load(
        std::move(spec), [&sent](std::string_view output, std::span<const std::byte> data) {
            sent.push_back(std::string(output) + "=" +
                           std::string(reinterpret_cast<const char*>(data.data()), data.size()));
            return std::string();
        });
}

Result<DoraStatus_t> deliver_input(SharedLibraryOperator& op, std::string_view text) {
    Input input{"tick", std::as_bytes(std::span(text.data(), text.size())), true, false};
    RawEvent_t event{};
    event.input = &input;
    return op.on_event(event, "INPUT tick");
}

TEST(OperatorSpecs, ParsesTheDaemonsListAndNamesWhatIsWrong) {
    auto specs = parse_operator_specs(
        R"([{"id":"a","shared_library":"/x/liba.so","inputs":["t"],"outputs":["o","p"]}])");
    ASSERT_TRUE(specs) << specs.error().message();
    ASSERT_EQ(specs->size(), 1u);
    EXPECT_EQ(specs->at(0).library, "/x/liba.so");
    EXPECT_EQ(specs->at(0).outputs, (std::vector<std::string>{"o", "p"}));

    EXPECT_CONTAINS(parse_operator_specs("").error().message(), "not by hand");
    EXPECT_CONTAINS(parse_operator_specs(R"([{"id":"a"}])").error().message(),
                    "needs `id` and `shared_library` strings");
    EXPECT_CONTAINS(
        parse_operator_specs(R"([{"id":"a","shared_library":"l","inputs":[1]}])").error().message(),
        "operator a: `inputs` holds 1, not a string");
}

TEST(OperatorAbi, ErrorResultsAreTakenOnceAndDataIsReadOnce) {
    EXPECT_EQ(take_error(error_result("broken")), "broken");
    EXPECT_EQ(take_error(DoraResult_t{nullptr}), std::nullopt);

    const std::string text = "hello";
    Input input{"in", std::as_bytes(std::span(text.data(), text.size())), true, false};
    Vec_uint8_t first = dora_read_data(&input);
    Vec_uint8_t second = dora_read_data(&input);
    ASSERT_NE(first.ptr, nullptr);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(first.ptr), first.len), "hello");
    EXPECT_EQ(second.ptr, nullptr) << "dora gives the data once";
    dora_free_data(first);

    Input tick{"tick", {}, false, false};
    EXPECT_EQ(dora_read_data(&tick).ptr, nullptr) << "a timer tick has no data";
    char* id = dora_read_input_id(&tick);
    EXPECT_STREQ(id, "tick");
    dora_free_input_id(id);
}

TEST(SharedLibraryOperator, SendsOnItsDeclaredOutputsPrefixedWithItsId) {
    std::vector<std::string> sent;
    auto op = load("echo", "echo_a", sent);
    ASSERT_TRUE(op) << op.error().message();
    auto status = deliver_input(**op, "x");
    ASSERT_TRUE(status) << status.error().message();
    EXPECT_EQ(*status, DORA_STATUS_CONTINUE);
    EXPECT_EQ(sent, std::vector<std::string>{"echo/out=a:x"});
    EXPECT_TRUE((*op)->drop());
}

TEST(SharedLibraryOperator, AnErrorResultOrAnUndeclaredOutputFailsNamingTheOperator) {
    const std::pair<std::string, std::string> fixtures_and_errors[] = {
        {"undeclared",
         "operator `op`: dora_on_event returned an error (event INPUT tick): operator `op` has no "
         "output `nope` (its outputs: out)"},
        {"failing",
         "operator `op`: dora_on_event returned an error (event INPUT tick): the sensor went "
         "away"},
    };
    for (const auto& [name, error] : fixtures_and_errors) {
        std::vector<std::string> sent;
        auto op = load("op", name, sent);
        ASSERT_TRUE(op) << op.error().message();
        auto status = deliver_input(**op, "x");
        ASSERT_FALSE(status) << name;
        EXPECT_CONTAINS(status.error().message(), error);
        EXPECT_TRUE(sent.empty()) << name;
    }
}

TEST(SharedLibraryOperator, AKeptSenderIsRefusedOutsideOnEvent) {
    std::vector<std::string> sent;
    auto op = load("late", "late_send", sent);  // sends with its kept sender from drop
    ASSERT_TRUE(op) << op.error().message();
    ASSERT_TRUE(deliver_input(**op, "x"));
    auto dropped = (*op)->drop();
    ASSERT_FALSE(dropped);
    EXPECT_CONTAINS(dropped.error().message(),
                    "operator `late`: dora_drop_operator returned an error: operator `late`: "
                    "outputs are sent only while dora_on_event runs");
    EXPECT_EQ(sent, std::vector<std::string>{"late/out=late:x"});
    EXPECT_CONTAINS(*take_error(dora_send_operator_output(nullptr, "out", nullptr, 0)),
                    "pass the SendOutput_t your dora_on_event received");
}

TEST(SharedLibraryOperator, LoadFailuresNameTheOperatorAndTheReason) {
    std::vector<std::string> sent;
    auto missing = load("ghost", "not_built", sent);
    ASSERT_FALSE(missing);
    EXPECT_CONTAINS(missing.error().message(), "operator `ghost`: cannot load its shared library");
    EXPECT_CONTAINS(missing.error().message(), "libop_not_built.so");

    auto no_drop = load("partial", "no_drop", sent);
    ASSERT_FALSE(no_drop);
    EXPECT_CONTAINS(no_drop.error().message(), "has no `dora_drop_operator`");

    auto init_error = load("camera", "init_error", sent);
    ASSERT_FALSE(init_error);
    EXPECT_CONTAINS(init_error.error().message(),
                    "operator `camera`: dora_init_operator returned an error: no camera attached");
}

}  // namespace
}  // namespace dora::operator_runtime
