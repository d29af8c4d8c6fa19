// dora.Node for Python: events as dicts, send_output from Python values, Ctrl-C friendly waits.
//
// next() releases the GIL while it waits and waits in slices of kWaitSlice, checking for Python
// signals between slices, so Ctrl-C raises KeyboardInterrupt as in plain Python and a timeout is
// never overshot by more than one slice of scheduling noise.
//
// allocate_output(size) hands out a writable shared-memory sample (buffer protocol) to fill in
// place and send with send_output: no copy at all, as C++ nodes do with allocate_output.
//
// Sending is allowed until close() (or the Node is garbage-collected): also while handling STOP
// and after the event stream has ended, as in dora. After close() every send raises RuntimeError.
//
// Thread safety: a Node may be used from several Python threads; NodeState::mutex serialises
// access to the underlying NodeImpl (which is single-threaded). A thread blocked in next() holds it
// only for one wait slice at a time, with the GIL released.
#pragma once

#include <pybind11/pybind11.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "node_api/node_impl.hpp"

namespace dora::python {

namespace py = pybind11;

inline constexpr std::chrono::milliseconds kWaitSlice{50};

// Payloads from this size on are copied into shared memory without the GIL.
inline constexpr size_t kReleaseGilAbove = 256 * 1024;

// The NodeImpl and the mutex that serialises its use, shared by the Node and its unsent samples
// (a sample remembers which node may send it; it frees itself without the node).
struct NodeState {
    std::unique_ptr<NodeImpl> impl;
    std::mutex mutex;  // guards impl (see the thread-safety note above)
    bool closed = false;
};

// A sample from allocate_output: writable until sent; dropped unsent, it returns to the pool
// (shm::WritableSample does that itself, on any thread, even after the node is gone).
class PySample {
  public:
    PySample(std::shared_ptr<NodeState> state, shm::WritableSample sample)
        : state_(std::move(state)), sample_(std::move(sample)) {}
    PySample(PySample&& other) noexcept = default;
    PySample& operator=(PySample&&) = delete;
    PySample(const PySample&) = delete;
    PySample& operator=(const PySample&) = delete;
    ~PySample() = default;

    [[nodiscard]] size_t size() const { return sample_.valid() ? sample_.data().size() : 0; }
    [[nodiscard]] bool sent() const { return !sample_.valid(); }
    // Views (memoryview, numpy) currently exported: a sample is sent only when there are none.
    int exports = 0;

  private:
    friend class PyNode;
    friend int sample_getbuffer(PyObject* obj, Py_buffer* view, int flags);
    std::shared_ptr<NodeState> state_;
    shm::WritableSample sample_;
};

class PyNode {
  public:
    explicit PyNode(std::optional<std::string> node_id);

    [[nodiscard]] py::object next(std::optional<double> timeout);
    // next() without looking at a pending recv_async() first (what recv_async's thread calls).
    [[nodiscard]] py::object next_raw(std::optional<double> timeout);
    // merge_external_events: queues an item of an external source (delivered by next() as
    // {"kind": "external", "value": item}) and wakes a waiting next().
    void push_external(py::object item);
    // recv_async: the future of the event being received in a thread; next() takes its event
    // first, so an event received for a cancelled recv_async is not lost.
    py::object pending_async = py::none();
    [[nodiscard]] py::object iter_next();
    void send_output(const std::string& output_id, py::handle data, py::handle metadata);
    [[nodiscard]] PySample allocate_output(size_t size);
    void close();

    [[nodiscard]] std::string dataflow_id() const;
    [[nodiscard]] std::string node_id() const;
    [[nodiscard]] py::object dataflow_descriptor() const;
    [[nodiscard]] std::vector<std::string> input_ids() const;
    [[nodiscard]] std::vector<std::string> output_ids() const;
    [[nodiscard]] std::map<std::string, uint64_t> dropped_inputs() const;
    [[nodiscard]] std::string repr() const;

  private:
    [[nodiscard]] py::object to_dict(Event&& event) const;
    void check_output(const std::string& output_id) const;
    void send_sample(const std::string& output_id, PySample& sample, Parameters params);

    [[nodiscard]] py::object take_external();

    std::shared_ptr<NodeState> state_;
    NodeImpl* impl_ = nullptr;         // state_->impl
    std::deque<py::object> external_;  // merge_external_events' items; guarded by the GIL
};

void bind_node(py::module_& m);

}  // namespace dora::python
