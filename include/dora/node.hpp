// The dora node API for C++.
//
// A node is a process started by a dora daemon (`dora run` or `dora start`). It reads events
// (inputs, closed inputs, stop) and sends outputs. Data never gets copied between processes:
// outputs are written into a shared-memory sample and receivers read that same memory.
//
//     auto node = dora::Node::from_env();
//     while (auto event = node.next()) {
//         if (event->type == dora::EventType::Input) {
//             node.send_output("out", event->data());
//         }
//     }
//
// Errors: `from_env`, `next` and `send_output` throw dora::NodeError (a std::exception) with a
// message that says what to do; the `try_` variants return dora::NodeResult instead.
//
// Thread safety: a Node is used by one thread at a time (move it between threads freely). Events
// and the data they reference may be kept, moved and destroyed on any thread; data stays valid
// as long as one Event (or an ArrowArray exported from it) references it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "dora/arrow.hpp"

namespace dora {

// A metadata parameter value, as in dora: bool, integer, float, string, or lists of them.
using Parameter = std::variant<bool, int64_t, double, std::string, std::vector<bool>,
                               std::vector<int64_t>, std::vector<double>, std::vector<std::string>>;
using Parameters = std::map<std::string, Parameter, std::less<>>;

enum class EventType { Input, InputClosed, Stop, Error };

enum class StopCause {
    Requested,        // `dora stop`, Ctrl-C or SIGTERM of the runtime
    AllInputsClosed,  // every input of this node was closed by its producer
};

class NodeError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class ReceivedData;  // opaque keep-alive of a received sample

struct EventMetadata {
    uint64_t timestamp_ns = 0;  // hybrid logical clock time of sending, ns since the UNIX epoch
    std::string arrow_format;   // Arrow C format string of the data ("C" = UInt8, "u" = Utf8, ...)
    int64_t length = 0;         // number of array elements
    Parameters parameters;
};

class Event {
  public:
    EventType type = EventType::Error;
    std::string id;  // the input id (Input, InputClosed)
    EventMetadata metadata;
    StopCause stop_cause = StopCause::Requested;  // Stop
    std::string error;                            // Error

    // The bytes of the first data buffer: for UInt8/Int8 arrays (what bytes are sent as) the
    // payload itself; for primitive arrays the values; empty for timer ticks.
    [[nodiscard]] std::span<const std::byte> data() const { return data_; }
    // The values as a span of T when the data is a primitive array of exactly that type.
    template <typename T>
    [[nodiscard]] std::optional<std::span<const T>> as() const;
    // The data as text when it is a one-element Utf8/LargeUtf8 array or a UInt8 array.
    [[nodiscard]] std::optional<std::string_view> as_string() const;
    // Zero-copy export of the data as an Arrow C Data Interface array; the caller owns the
    // structs and must call their release callbacks. Returns an error message on failure.
    [[nodiscard]] std::optional<std::string> to_arrow(ArrowArray* array, ArrowSchema* schema) const;

    // Keeps the received sample alive (shared by copies of this event).
    std::shared_ptr<const ReceivedData> holder;

  private:
    friend class NodeImpl;
    std::span<const std::byte> data_;
};

// A shared-memory sample the node fills in place before sending (large outputs: no extra copy).
class OutputSample {
  public:
    OutputSample();
    OutputSample(OutputSample&&) noexcept;
    OutputSample& operator=(OutputSample&&) noexcept;
    OutputSample(const OutputSample&) = delete;
    OutputSample& operator=(const OutputSample&) = delete;
    ~OutputSample();  // an unsent sample goes back to the pool

    [[nodiscard]] std::span<std::byte> data() const;

  private:
    friend class Node;
    friend class NodeImpl;
    struct State;
    std::unique_ptr<State> state_;
};

class NodeImpl;

class Node {
  public:
    // Joins the dataflow whose daemon started this process (reads DORA_NODE_CONFIG).
    [[nodiscard]] static Node from_env();
    Node(Node&&) noexcept;
    Node& operator=(Node&&) noexcept;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    // Receivers of this node's outputs get INPUT_CLOSED once the process has exited (the daemon
    // closes them then, unless a restart_policy restarts the node).
    ~Node();

    // The next event; blocks until one arrives, or until `timeout` passes (std::nullopt is
    // returned then, and finished() is false). Returns std::nullopt with finished() true when the
    // event stream has ended (after STOP).
    [[nodiscard]] std::optional<Event> next(
        std::optional<std::chrono::nanoseconds> timeout = std::nullopt);
    [[nodiscard]] bool finished() const;

    // Sends bytes as a UInt8 array.
    void send_output(std::string_view output_id, std::span<const std::byte> data,
                     const Parameters& parameters = {});
    // Sends text as a one-element Utf8 array.
    void send_output_string(std::string_view output_id, std::string_view text,
                            const Parameters& parameters = {});
    // Sends a primitive array (int8..int64, uint8..uint64, float, double).
    template <typename T>
    requires std::is_arithmetic_v<T> &&
        (!std::is_same_v<T, bool>)void send_output_array(std::string_view output_id,
                                                         std::span<const T> values,
                                                         const Parameters& parameters = {});
    // Sends an Arrow C Data Interface array (copied once into shared memory). Takes ownership:
    // both structs are released before this returns.
    void send_output_arrow(std::string_view output_id, ArrowArray* array, ArrowSchema* schema,
                           const Parameters& parameters = {});

    // A sample of `size` bytes to fill in place, then send with send_output_sample.
    [[nodiscard]] OutputSample allocate_output(size_t size);
    void send_output_sample(std::string_view output_id, OutputSample&& sample,
                            const Parameters& parameters = {});

    [[nodiscard]] const std::string& dataflow_id() const;
    [[nodiscard]] const std::string& node_id() const;
    [[nodiscard]] std::vector<std::string> input_ids() const;
    [[nodiscard]] std::vector<std::string> output_ids() const;
    // Path of the dataflow file (may be empty for dynamic nodes).
    [[nodiscard]] const std::string& dataflow_descriptor_path() const;
    // Inputs dropped because their queue was full, per input id, since the node started.
    [[nodiscard]] std::map<std::string, uint64_t> dropped_inputs() const;

    // Range-for over events: `for (auto& event : node)`.
    class Iterator {
      public:
        using value_type = Event;
        using difference_type = std::ptrdiff_t;
        explicit Iterator(Node* node) : node_(node) { advance(); }
        Iterator() = default;
        Event& operator*() { return *event_; }
        Event* operator->() { return &*event_; }
        Iterator& operator++() {
            advance();
            return *this;
        }
        bool operator==(std::default_sentinel_t) const { return !event_.has_value(); }

      private:
        void advance() { event_ = node_->next(); }
        Node* node_ = nullptr;
        std::optional<Event> event_;
    };
    Iterator begin() { return Iterator(this); }
    std::default_sentinel_t end() { return {}; }

    // Implementation access for the Python bindings.
    [[nodiscard]] NodeImpl& impl() { return *impl_; }

  private:
    explicit Node(std::unique_ptr<NodeImpl> impl);
    void send_primitive(std::string_view output_id, const char* format, const void* values,
                        size_t count, size_t element_size, const Parameters& parameters);
    std::unique_ptr<NodeImpl> impl_;
};

namespace detail {
template <typename T>
constexpr const char* arrow_format() {
    if constexpr (std::is_same_v<T, int8_t>)
        return "c";
    else if constexpr (std::is_same_v<T, uint8_t>)
        return "C";
    else if constexpr (std::is_same_v<T, int16_t>)
        return "s";
    else if constexpr (std::is_same_v<T, uint16_t>)
        return "S";
    else if constexpr (std::is_same_v<T, int32_t>)
        return "i";
    else if constexpr (std::is_same_v<T, uint32_t>)
        return "I";
    else if constexpr (std::is_same_v<T, int64_t>)
        return "l";
    else if constexpr (std::is_same_v<T, uint64_t>)
        return "L";
    else if constexpr (std::is_same_v<T, float>)
        return "f";
    else if constexpr (std::is_same_v<T, double>)
        return "g";
    else
        return nullptr;
}
}  // namespace detail

template <typename T>
requires std::is_arithmetic_v<T> &&
    (!std::is_same_v<T, bool>)void Node::send_output_array(std::string_view output_id,
                                                           std::span<const T> values,
                                                           const Parameters& parameters) {
    static_assert(detail::arrow_format<T>() != nullptr, "unsupported element type");
    send_primitive(output_id, detail::arrow_format<T>(), values.data(), values.size(), sizeof(T),
                   parameters);
}

template <typename T>
std::optional<std::span<const T>> Event::as() const {
    const char* fmt = detail::arrow_format<T>();
    if (fmt == nullptr || metadata.arrow_format != fmt) {
        return std::nullopt;
    }
    return std::span<const T>(reinterpret_cast<const T*>(data_.data()), data_.size() / sizeof(T));
}

}  // namespace dora
