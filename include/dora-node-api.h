// dora's C++ node API: the types and functions of the header dora generates for C++ nodes
// (`dora-node-api.h`, from dora's `apis/c++/node`, 0.3.x), with the small `rust::`-named view
// types its signatures use, over dora-cpp's node library. C++ nodes written for dora compile
// against it unchanged; new code may prefer dora/node.hpp (dora::Node), which this wraps.
//
//     auto dora_node = init_dora_node();                 // throws rust::Error outside a dataflow
//     for (;;) {
//         auto event = dora_node.events->next();
//         auto ty = event_type(event);
//         if (ty == DoraEventType::AllInputsClosed) break;  // the event stream has ended
//         if (ty == DoraEventType::Input) {
//             auto input = event_as_input(std::move(event));
//             rust::Slice<const uint8_t> out{input.data.data(), input.data.size()};
//             auto result = send_output(dora_node.send_output, "out", out);
//             if (!std::string(result.error).empty()) { ... }
//         }
//     }
//
// Link with libdora-node (CMake: `find_package(dora)` and `dora::node`).
//
// Behaviour, as in dora 0.3.x:
//   - `next()` blocks until the next event; once the event stream has ended (after STOP) it
//     returns an event of type AllInputsClosed (and keeps doing so).
//   - event_as_input throws rust::Error for an event that is not an input; the data is the
//     message's bytes for byte arrays and text, the values' bytes for other primitive arrays
//     (dora stops the node there instead), empty for timer ticks. It is copied out of shared
//     memory; event_as_arrow_input exports the data without copying (Arrow C Data Interface).
//   - send_output sends bytes as a byte array; send_arrow_output sends an Arrow C array and takes
//     ownership of both structs (they are released and left with a NULL release callback). Both
//     return a DoraResult whose `error` is empty on success.
//   - The combined event stream (dora_events_into_combined) delivers the dora events; merging
//     external streams (ROS 2) is not part of dora-cpp, so every event of it is a dora event.
//
// Thread safety: as in dora, `events` and `send_output` may be used from two threads (one
// each): receiving touches only the node's inputs, sending only its outputs. Events may be
// destroyed on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dora/export.hpp"

namespace dora {
class Node;  // dora/node.hpp (C++20); this header itself needs only C++17, as dora's does
}

namespace rust {

// An owned UTF-8 string (what dora's signatures call rust::String).
class String {
  public:
    String() = default;
    String(const std::string& s) : s_(s) {}                 // NOLINT: implicit, as in cxx
    String(std::string&& s) noexcept : s_(std::move(s)) {}  // NOLINT: implicit
    String(const char* s) : s_(s == nullptr ? "" : s) {}    // NOLINT: implicit
    String(const char* s, std::size_t len) : s_(s, len) {}
    String(std::string_view s) : s_(s) {}  // NOLINT: implicit

    explicit operator std::string() const { return s_; }
    [[nodiscard]] const char* data() const noexcept { return s_.data(); }
    [[nodiscard]] const char* c_str() const noexcept { return s_.c_str(); }
    [[nodiscard]] std::size_t size() const noexcept { return s_.size(); }
    [[nodiscard]] std::size_t length() const noexcept { return s_.size(); }
    [[nodiscard]] bool empty() const noexcept { return s_.empty(); }
    [[nodiscard]] std::string::const_iterator begin() const noexcept { return s_.begin(); }
    [[nodiscard]] std::string::const_iterator end() const noexcept { return s_.end(); }
    friend bool operator==(const String& a, const String& b) noexcept { return a.s_ == b.s_; }
    friend bool operator!=(const String& a, const String& b) noexcept { return a.s_ != b.s_; }
    friend bool operator<(const String& a, const String& b) noexcept { return a.s_ < b.s_; }
    friend std::ostream& operator<<(std::ostream& os, const String& s) { return os << s.s_; }

  private:
    std::string s_;
};

// A borrowed UTF-8 string.
class Str {
  public:
    Str() = default;
    Str(const String& s) : s_(s.data(), s.size()) {}   // NOLINT: implicit
    Str(const std::string& s) : s_(s) {}               // NOLINT: implicit
    Str(const char* s) : s_(s == nullptr ? "" : s) {}  // NOLINT: implicit
    Str(const char* s, std::size_t len) : s_(s, len) {}

    explicit operator std::string() const { return std::string(s_); }
    [[nodiscard]] const char* data() const noexcept { return s_.data(); }
    [[nodiscard]] std::size_t size() const noexcept { return s_.size(); }
    [[nodiscard]] std::size_t length() const noexcept { return s_.size(); }
    [[nodiscard]] bool empty() const noexcept { return s_.empty(); }
    [[nodiscard]] const char* begin() const noexcept { return s_.data(); }
    [[nodiscard]] const char* end() const noexcept { return s_.data() + s_.size(); }
    friend std::ostream& operator<<(std::ostream& os, const Str& s) { return os << s.s_; }

  private:
    std::string_view s_;
};

// A borrowed contiguous range: rust::Slice<const uint8_t>{ptr, len}.
template <typename T>
class Slice {
  public:
    Slice() noexcept = default;
    Slice(T* data, std::size_t size) noexcept : data_(data), size_(size) {}

    [[nodiscard]] T* data() const noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t length() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    T& operator[](std::size_t i) const noexcept { return data_[i]; }
    T& at(std::size_t i) const {
        if (i >= size_) {
            throw std::out_of_range("rust::Slice index out of range");
        }
        return data_[i];
    }
    T& front() const noexcept { return data_[0]; }
    T& back() const noexcept { return data_[size_ - 1]; }
    [[nodiscard]] T* begin() const noexcept { return data_; }
    [[nodiscard]] T* end() const noexcept { return data_ + size_; }

  private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

// An owned growable array (what dora hands out as input data: rust::Vec<uint8_t>).
template <typename T>
class Vec {
  public:
    Vec() = default;
    Vec(std::initializer_list<T> values) : v_(values) {}
    explicit Vec(std::vector<T> values) noexcept : v_(std::move(values)) {}

    [[nodiscard]] const T* data() const noexcept { return v_.data(); }
    [[nodiscard]] T* data() noexcept { return v_.data(); }
    [[nodiscard]] std::size_t size() const noexcept { return v_.size(); }
    [[nodiscard]] std::size_t length() const noexcept { return v_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return v_.capacity(); }
    [[nodiscard]] bool empty() const noexcept { return v_.empty(); }
    const T& operator[](std::size_t i) const noexcept { return v_[i]; }
    T& operator[](std::size_t i) noexcept { return v_[i]; }
    const T& at(std::size_t i) const { return v_.at(i); }
    T& at(std::size_t i) { return v_.at(i); }
    const T& front() const noexcept { return v_.front(); }
    const T& back() const noexcept { return v_.back(); }
    void push_back(const T& value) { v_.push_back(value); }
    void push_back(T&& value) { v_.push_back(std::move(value)); }
    template <typename... Args>
    void emplace_back(Args&&... args) {
        v_.emplace_back(std::forward<Args>(args)...);
    }
    void reserve(std::size_t n) { v_.reserve(n); }
    void truncate(std::size_t n) {
        if (n < v_.size()) {
            v_.resize(n);
        }
    }
    void clear() noexcept { v_.clear(); }
    [[nodiscard]] auto begin() noexcept { return v_.begin(); }
    [[nodiscard]] auto end() noexcept { return v_.end(); }
    [[nodiscard]] auto begin() const noexcept { return v_.begin(); }
    [[nodiscard]] auto end() const noexcept { return v_.end(); }

  private:
    std::vector<T> v_;
};

// An owning pointer (move-only, never null once made by the API).
template <typename T>
class Box {
  public:
    explicit Box(std::unique_ptr<T> p) noexcept : p_(std::move(p)) {}
    Box(Box&&) noexcept = default;
    Box& operator=(Box&&) noexcept = default;
    Box(const Box&) = delete;
    Box& operator=(const Box&) = delete;
    ~Box() = default;

    T* operator->() const noexcept { return p_.get(); }
    T& operator*() const noexcept { return *p_; }
    // Gives up ownership (cxx's names).
    [[nodiscard]] T* into_raw() noexcept { return p_.release(); }
    [[nodiscard]] static Box from_raw(T* p) noexcept { return Box(std::unique_ptr<T>(p)); }

  private:
    std::unique_ptr<T> p_;
};

// What the API throws where dora's signatures return a Rust `Result`.
class Error : public std::exception {
  public:
    explicit Error(std::string message) : message_(std::move(message)) {}
    [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }

  private:
    std::string message_;
};

}  // namespace rust

enum class DoraEventType : std::uint8_t {
    Stop = 0,
    Input = 1,
    InputClosed = 2,
    Error = 3,
    Unknown = 4,
    AllInputsClosed = 5,  // the event stream has ended
};

// One event; inspect it with event_type, take it apart with event_as_input.
class DORA_NODE_API DoraEvent {
  public:
    struct Impl;  // a dora::Event, or none once the stream has ended (AllInputsClosed)
    explicit DoraEvent(Impl* impl) noexcept : impl_(impl) {}
    DoraEvent(const DoraEvent&) = delete;
    DoraEvent& operator=(const DoraEvent&) = delete;
    ~DoraEvent();
    [[nodiscard]] Impl& impl() const noexcept { return *impl_; }

  private:
    Impl* impl_;
};

// The node's incoming events.
class DORA_NODE_API Events {
  public:
    explicit Events(std::shared_ptr<dora::Node> node) : node_(std::move(node)) {}
    // The next event (AllInputsClosed once the stream has ended).
    [[nodiscard]] rust::Box<DoraEvent> next();

  private:
    std::shared_ptr<dora::Node> node_;
};

// Sends the node's outputs (send_output, send_arrow_output).
class DORA_NODE_API OutputSender {
  public:
    explicit OutputSender(std::shared_ptr<dora::Node> node) : node_(std::move(node)) {}
    [[nodiscard]] dora::Node& node() const noexcept { return *node_; }

  private:
    std::shared_ptr<dora::Node> node_;
};

struct DoraNode {
    rust::Box<Events> events;
    rust::Box<OutputSender> send_output;
};

struct DoraInput {
    rust::String id;
    rust::Vec<std::uint8_t> data;
};

struct DoraResult {
    rust::String error;  // empty on success
};

struct MergedDoraEvent {
    rust::Box<DoraEvent> event;
};

class DORA_NODE_API MergedEvents {
  public:
    explicit MergedEvents(std::unique_ptr<Events> events) : events_(std::move(events)) {}
    [[nodiscard]] MergedDoraEvent next();

  private:
    std::unique_ptr<Events> events_;  // null: the empty stream
};

struct DORA_NODE_API CombinedEvent {
    rust::Box<MergedDoraEvent> event;
    // True for an event of the dora stream (every event but the end of the stream).
    [[nodiscard]] bool is_dora() const noexcept;
};

struct DORA_NODE_API CombinedEvents {
    rust::Box<MergedEvents> events;
    [[nodiscard]] CombinedEvent next();
};

// Joins the dataflow whose daemon started this process; throws rust::Error outside a dataflow.
DORA_NODE_API DoraNode init_dora_node();

DORA_NODE_API rust::Box<DoraEvent> next_event(rust::Box<Events>& events);
DORA_NODE_API DoraEventType event_type(const rust::Box<DoraEvent>& event);
// Throws rust::Error when the event is not an input.
DORA_NODE_API DoraInput event_as_input(rust::Box<DoraEvent> event);
DORA_NODE_API DoraResult send_output(rust::Box<OutputSender>& output_sender, rust::String id,
                                     rust::Slice<const std::uint8_t> data);
// `array_ptr`/`schema_ptr` point to an ArrowArray and an ArrowSchema (dora's signature takes
// them as bytes); both are consumed.
DORA_NODE_API DoraResult send_arrow_output(rust::Box<OutputSender>& output_sender, rust::String id,
                                           std::uint8_t* array_ptr, std::uint8_t* schema_ptr);
// Exports the input's data into the caller's ArrowArray/ArrowSchema (release both when done).
DORA_NODE_API DoraResult event_as_arrow_input(rust::Box<DoraEvent> event, std::uint8_t* out_array,
                                              std::uint8_t* out_schema);

DORA_NODE_API CombinedEvents dora_events_into_combined(rust::Box<Events> events);
DORA_NODE_API CombinedEvents empty_combined_events();
// Throws rust::Error when the event is not a dora event.
DORA_NODE_API rust::Box<DoraEvent> downcast_dora(CombinedEvent event);
