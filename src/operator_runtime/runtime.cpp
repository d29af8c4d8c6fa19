#include "operator_runtime/runtime.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

namespace dora::operator_runtime {

namespace {

using Operators = std::vector<std::unique_ptr<SharedLibraryOperator>>;

// Drops every operator; the errors of those whose drop fails, joined.
Result<> drop_all(Operators& operators) {
    std::string errors;
    for (auto& op : operators) {
        if (auto dropped = op->drop(); !dropped) {
            errors += (errors.empty() ? "" : "; ") + dropped.error().message();
        }
    }
    if (!errors.empty()) {
        return fail("{}", errors);
    }
    return {};
}

// The event loop's state: which operators still get events.
class Router {
  public:
    explicit Router(Operators& operators)
        : operators_(operators), running_(operators.size(), true) {}

    // Delivers one event; false once the node should end.
    [[nodiscard]] Result<bool> route(const Event& event);

  private:
    [[nodiscard]] Result<bool> deliver(size_t index, RawEvent_t& raw, std::string_view what);
    [[nodiscard]] Result<bool> deliver_stop();
    [[nodiscard]] Result<bool> deliver_error(std::optional<size_t> index, const Event& event);
    [[nodiscard]] std::optional<size_t> running_operator(std::string_view name) const;
    [[nodiscard]] bool any_running() const;

    Operators& operators_;
    std::vector<bool> running_;
};

Result<bool> Router::route(const Event& event) {
    if (event.type == EventType::Stop) {
        return deliver_stop();
    }
    const size_t slash = event.id.find('/');
    const std::string_view name = std::string_view(event.id).substr(0, slash);
    const std::optional<size_t> index = running_operator(name);
    if (event.type == EventType::Error && slash == std::string::npos) {
        return deliver_error(std::nullopt, event);  // about no input: every operator hears it
    }
    if (!index || slash == std::string::npos) {
        return true;  // an input of an operator that has stopped
    }
    if (event.type == EventType::Error) {
        return deliver_error(index, event);
    }
    const std::string input_id = event.id.substr(slash + 1);
    RawEvent_t raw{};
    if (event.type == EventType::InputClosed) {
        raw.input_closed = borrowed_vec(input_id);
        return deliver(*index, raw, "INPUT_CLOSED " + input_id);
    }
    const auto& format = event.metadata.arrow_format;
    Input input{input_id, event.data(), !format.empty() && format != "n", false};
    raw.input = &input;
    return deliver(*index, raw, "INPUT " + input_id);
}

Result<bool> Router::deliver(size_t index, RawEvent_t& raw, std::string_view what) {
    auto status = operators_[index]->on_event(raw, what);
    if (!status) {
        return fail(status.error());
    }
    if (*status == DORA_STATUS_STOP_ALL) {
        return false;
    }
    if (*status == DORA_STATUS_STOP) {
        running_[index] = false;
    }
    return any_running();
}

Result<bool> Router::deliver_stop() {
    for (size_t i = 0; i < operators_.size(); ++i) {
        if (!running_[i]) continue;
        RawEvent_t raw{};
        raw.stop = true;
        auto more = deliver(i, raw, "STOP");
        if (!more || !*more) {
            return more;
        }
    }
    return false;
}

Result<bool> Router::deliver_error(std::optional<size_t> index, const Event& event) {
    const std::string message = event.error;
    for (size_t i = 0; i < operators_.size(); ++i) {
        if (!running_[i] || (index && *index != i)) continue;
        RawEvent_t raw{};
        raw.error = borrowed_vec(message);
        auto more = deliver(i, raw, "ERROR");
        if (!more || !*more) {
            return more;
        }
    }
    return any_running();
}

std::optional<size_t> Router::running_operator(std::string_view name) const {
    for (size_t i = 0; i < operators_.size(); ++i) {
        if (running_[i] && operators_[i]->spec().id == name) return i;
    }
    return std::nullopt;
}

bool Router::any_running() const {
    return std::find(running_.begin(), running_.end(), true) != running_.end();
}

}  // namespace

Result<Operators> load_operators(Node& node, std::vector<OperatorSpec> specs) {
    OutputSink sink = [&node](std::string_view output_id, std::span<const std::byte> data) {
        auto sent = node.try_send_output(output_id, data);
        return sent ? std::string() : sent.error();
    };
    Operators operators;
    for (auto& spec : specs) {
        auto op = SharedLibraryOperator::load(std::move(spec), sink);
        if (!op) {
            (void)drop_all(operators);  // the load error is what the node fails with
            return fail(op.error());
        }
        operators.push_back(std::move(*op));
    }
    return operators;
}

Result<> run_operators(Node& node, Operators operators) {
    Router router(operators);
    Result<> outcome;
    while (auto event = node.next()) {
        auto more = router.route(*event);
        if (!more) {
            outcome = fail(more.error());
            break;
        }
        if (!*more) break;
    }
    node.close();
    auto dropped = drop_all(operators);
    if (!outcome) {
        return outcome;
    }
    return dropped;
}

Result<> run_from_env() {
    const char* raw_specs = std::getenv(std::string(kOperatorsEnv).c_str());
    auto specs = parse_operator_specs(raw_specs == nullptr ? "" : raw_specs);
    if (!specs) {
        return fail(specs.error());
    }
    auto node = Node::try_from_env();
    if (!node) {
        return fail("{}", node.error());
    }
    auto operators = load_operators(*node, std::move(*specs));
    if (!operators) {
        return fail(operators.error());
    }
    return run_operators(*node, std::move(*operators));
}

}  // namespace dora::operator_runtime
