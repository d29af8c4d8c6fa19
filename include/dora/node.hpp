// The dora node API for C++.
//
// A node is a process started by a dora daemon (`dora run` or `dora start`). It reads events
// (inputs, closed inputs, stop) and sends outputs. Data never gets copied between processes:
// outputs are written into a shared-memory sample and receivers read that same memory, mapped
// read-only.
//
//     auto node = dora::Node::from_env();
//     while (auto event = node.next()) {
//         if (event->type == dora::EventType::Input) {
//             node.send_output("out", event->data());
//         }
//     }
//
// Errors: `from_env`, `send_output*`, `allocate_output` and `dataflow_descriptor` throw
// dora::NodeError (a std::exception) with a message that says what to do; their `try_` variants
// (`try_from_env`, `try_send_output`, ...) return a dora::NodeResult instead (node_result.hpp).
// The throwing calls are the `try_` calls plus NodeResult::value(): one implementation.
//
// Thread safety: a Node is used by one thread at a time (move it between threads freely). Events
// and the data they reference may be kept, copied, moved and destroyed on any thread; data stays
// valid as long as one Event (or an ArrowArray exported from it) references it. An OutputSample
// may be destroyed on any thread, also after its Node is gone.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dora/arrow.hpp"
#include "dora/export.hpp"
#include "dora/node_result.hpp"

namespace dora {

// The element types send_output_array and Event::as<T> take: the fixed-width Arrow primitive
// types (Int8 .. UInt64, Float32, Float64). bool is not one (Arrow packs booleans as bits).
template <typename T>
concept Primitive = std::same_as<T, int8_t> || std::same_as<T, uint8_t> ||
    std::same_as<T, int16_t> || std::same_as<T, uint16_t> || std::same_as<T, int32_t> ||
    std::same_as<T, uint32_t> || std::same_as<T, int64_t> || std::same_as<T, uint64_t> ||
    std::same_as<T, float> || std::same_as<T, double>;

// A metadata parameter value, as in dora: bool, integer, float, string, or lists of them.
using Parameter = std::variant<bool, int64_t, double, std::string, std::vector<bool>,
                               std::vector<int64_t>, std::vector<double>, std::vector<std::string>>;
using Parameters = std::map<std::string, Parameter, std::less<>>;

// InputRecovered (dora 1.x): an input closed by its `input_timeout` receives data again; its
// next Input follows.
enum class EventType { Input, InputClosed, Stop, Error, InputRecovered };

enum class StopCause {
    Requested,        // `dora stop`, Ctrl-C or SIGTERM of the runtime
    AllInputsClosed,  // every input of this node was closed by its producer
};

class ReceivedData;  // opaque keep-alive of a received sample
class NodeImpl;      // opaque implementation of Node
namespace detail {
struct NodeAccess;  // the runtime's own access to the private parts below (not installed)

// The Arrow C format string of a Primitive type.
template <Primitive T>
constexpr const char* arrow_format() {
    if constexpr (std::same_as<T, int8_t>) {
        return "c";
    } else if constexpr (std::same_as<T, uint8_t>) {
        return "C";
    } else if constexpr (std::same_as<T, int16_t>) {
        return "s";
    } else if constexpr (std::same_as<T, uint16_t>) {
        return "S";
    } else if constexpr (std::same_as<T, int32_t>) {
        return "i";
    } else if constexpr (std::same_as<T, uint32_t>) {
        return "I";
    } else if constexpr (std::same_as<T, int64_t>) {
        return "l";
    } else if constexpr (std::same_as<T, uint64_t>) {
        return "L";
    } else if constexpr (std::same_as<T, float>) {
        return "f";
    } else {
        return "g";
    }
}
}  // namespace detail

struct EventMetadata {
    uint64_t timestamp_ns = 0;  // hybrid logical clock time of sending, ns since the UNIX epoch
    std::string arrow_format;   // Arrow C format string of the data ("C" = UInt8, "u" = Utf8, ...)
    int64_t length = 0;         // number of array elements
    Parameters parameters;
};

// One event of the node's event stream. Copies share the received data (read-only shared
// memory), which stays mapped while any copy lives.
class DORA_NODE_API Event {
  public:
    EventType type = EventType::Error;
    std::string id;  // the input id (Input, InputClosed, InputRecovered)
    EventMetadata metadata;
    StopCause stop_cause = StopCause::Requested;  // Stop
    std::string error;                            // Error

    // The bytes of the first data buffer: for UInt8/Int8 arrays (what bytes are sent as) the
    // payload itself; for primitive arrays the values; empty for timer ticks.
    [[nodiscard]] std::span<const std::byte> data() const { return data_; }
    // The values as a span of T when the data is a primitive array of exactly that type.
    template <Primitive T>
    [[nodiscard]] std::optional<std::span<const T>> as() const;
    // The data as text when it is a one-element Utf8/LargeUtf8 array or a UInt8 array.
    [[nodiscard]] std::optional<std::string_view> as_string() const;
    // Zero-copy export of the data as an Arrow C Data Interface array; the caller owns the
    // structs and must call their release callbacks. Returns an error message on failure.
    [[nodiscard]] std::optional<std::string> to_arrow(ArrowArray* array, ArrowSchema* schema) const;

  private:
    friend struct detail::NodeAccess;
    std::span<const std::byte> data_;
    std::shared_ptr<const ReceivedData> holder_;  // keeps the sample mapped; shared by copies
};

// A shared-memory sample the node fills in place before sending (large outputs: no extra copy).
// Move-only. Destroyed unsent, it goes back to its node's pool; it may outlive its Node: it then
// only frees its memory, and sending it fails with NodeError.
class DORA_NODE_API OutputSample {
  public:
    OutputSample();
    OutputSample(OutputSample&&) noexcept;
    OutputSample& operator=(OutputSample&&) noexcept;
    OutputSample(const OutputSample&) = delete;
    OutputSample& operator=(const OutputSample&) = delete;
    ~OutputSample();

    // The writable bytes; empty once sent (or for a default-constructed sample).
    [[nodiscard]] std::span<std::byte> data() const;

  private:
    friend struct detail::NodeAccess;
    struct State;
    std::unique_ptr<State> state_;
};

class DORA_NODE_API Node {
  public:
    // Joins the dataflow whose daemon started this process (reads DORA_NODE_CONFIG).
    [[nodiscard]] static Node from_env();
    [[nodiscard]] static NodeResult<Node> try_from_env();
    // Joins as dynamic node `node_id` (`path: dynamic` in the dataflow file), for a process
    // started by hand: through the local listen port of the daemon on this machine
    // (DORA_DAEMON_PORT, else 53291; DORA_DATAFLOW names the dataflow when several wait for the
    // id). The daemon treats the end of this Node (or of the process) as the node's exit.
    [[nodiscard]] static Node from_id(std::string_view node_id);
    [[nodiscard]] static NodeResult<Node> try_from_id(std::string_view node_id);
    Node(Node&&) noexcept;
    Node& operator=(Node&&) noexcept;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    // Receivers of this node's outputs get INPUT_CLOSED once the process has exited (the daemon
    // closes them then, unless a restart_policy restarts the node), or at once after close().
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
    [[nodiscard]] NodeResult<> try_send_output(std::string_view output_id,
                                               std::span<const std::byte> data,
                                               const Parameters& parameters = {});
    // Sends text as a one-element Utf8 array.
    void send_output_string(std::string_view output_id, std::string_view text,
                            const Parameters& parameters = {});
    [[nodiscard]] NodeResult<> try_send_output_string(std::string_view output_id,
                                                      std::string_view text,
                                                      const Parameters& parameters = {});
    // Sends a primitive array (int8..int64, uint8..uint64, float, double).
    template <Primitive T>
    void send_output_array(std::string_view output_id, std::span<const T> values,
                           const Parameters& parameters = {}) {
        try_send_output_array(output_id, values, parameters).value();
    }
    template <Primitive T>
    [[nodiscard]] NodeResult<> try_send_output_array(std::string_view output_id,
                                                     std::span<const T> values,
                                                     const Parameters& parameters = {}) {
        return try_send_primitive(output_id, detail::arrow_format<T>(), values.data(),
                                  values.size(), sizeof(T), parameters);
    }
    // Sends an Arrow C Data Interface array (copied once into shared memory). Takes ownership:
    // both structs are released before this returns, also when sending fails.
    void send_output_arrow(std::string_view output_id, ArrowArray* array, ArrowSchema* schema,
                           const Parameters& parameters = {});
    [[nodiscard]] NodeResult<> try_send_output_arrow(std::string_view output_id, ArrowArray* array,
                                                     ArrowSchema* schema,
                                                     const Parameters& parameters = {});

    // A sample of `size` bytes to fill in place, then send with send_output_sample.
    [[nodiscard]] OutputSample allocate_output(size_t size);
    [[nodiscard]] NodeResult<OutputSample> try_allocate_output(size_t size);
    // Sends a sample of this node as a UInt8 array. The sample is consumed: when sending fails
    // it goes back to the pool.
    void send_output_sample(std::string_view output_id, OutputSample&& sample,
                            const Parameters& parameters = {});
    [[nodiscard]] NodeResult<> try_send_output_sample(std::string_view output_id,
                                                      OutputSample&& sample,
                                                      const Parameters& parameters = {});

    // Closes every output now: receivers get INPUT_CLOSED once they have read what was sent;
    // every later send fails. Inputs are not affected: next() keeps delivering events.
    void close();

    [[nodiscard]] const std::string& dataflow_id() const;
    [[nodiscard]] const std::string& node_id() const;
    [[nodiscard]] std::vector<std::string> input_ids() const;
    [[nodiscard]] std::vector<std::string> output_ids() const;
    // Path of the dataflow file (may be empty for dynamic nodes).
    [[nodiscard]] const std::string& dataflow_descriptor_path() const;
    // The dataflow file as JSON text (YAML converted with the YAML 1.2 core schema: plain
    // scalars become null, booleans, integers or floats; everything else strings), to parse with
    // any JSON library. Fails when this node has no dataflow file or it cannot be read.
    [[nodiscard]] std::string dataflow_descriptor() const;
    [[nodiscard]] NodeResult<std::string> try_dataflow_descriptor() const;
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

  private:
    friend struct detail::NodeAccess;
    explicit Node(std::unique_ptr<NodeImpl> impl);
    [[nodiscard]] NodeResult<> try_send_primitive(std::string_view output_id, const char* format,
                                                  const void* values, size_t count,
                                                  size_t element_size,
                                                  const Parameters& parameters);
    std::unique_ptr<NodeImpl> impl_;
};

template <Primitive T>
std::optional<std::span<const T>> Event::as() const {
    if (metadata.arrow_format != detail::arrow_format<T>()) {
        return std::nullopt;
    }
    return std::span<const T>(reinterpret_cast<const T*>(data_.data()), data_.size() / sizeof(T));
}

}  // namespace dora
