// dora.Node for Python: events as dicts, send_output from Python values, Ctrl-C friendly waits.
//
// next() releases the GIL while it waits and waits in slices of kWaitSlice, checking for Python
// signals between slices, so Ctrl-C raises KeyboardInterrupt as in plain Python and a timeout is
// never overshot by more than one slice of scheduling noise.
//
// Sending is allowed until close() (or the Node is garbage-collected): also while handling STOP
// and after the event stream has ended, as in dora. After close() every send raises RuntimeError.
//
// Thread safety: a Node may be used from several Python threads; `mutex_` serialises access to
// the underlying NodeImpl (which is single-threaded). A thread blocked in next() holds it only for
// one wait slice at a time, with the GIL released.
#pragma once

#include <pybind11/pybind11.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "node_api/node_impl.hpp"

namespace dora::python {

namespace py = pybind11;

inline constexpr std::chrono::milliseconds kWaitSlice{50};

// Payloads from this size on are copied into shared memory without the GIL.
inline constexpr size_t kReleaseGilAbove = 256 * 1024;

class PyNode {
  public:
    explicit PyNode(std::optional<std::string> node_id);

    [[nodiscard]] py::object next(std::optional<double> timeout);
    [[nodiscard]] py::object iter_next();
    void send_output(const std::string& output_id, py::handle data, py::handle metadata);
    void close();

    [[nodiscard]] std::string dataflow_id() const;
    [[nodiscard]] std::string node_id() const;
    [[nodiscard]] py::object dataflow_descriptor() const;
    [[nodiscard]] std::string repr() const;

  private:
    [[nodiscard]] py::object to_dict(Event&& event) const;
    void lock();

    std::unique_ptr<NodeImpl> impl_;
    std::mutex mutex_;  // guards impl_ (see the thread-safety note above)
    bool closed_ = false;
};

void bind_node(py::module_& m);

}  // namespace dora::python
