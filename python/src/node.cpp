#include "node.hpp"

#include <pybind11/stl.h>

#include "array.hpp"
#include "convert.hpp"
#include "descriptor.hpp"
#include "node_api/node_access.hpp"

namespace dora::python {

namespace {

// Interned keys and values of event dicts, created once.
struct Names {
    py::str type = "type", id = "id", value = "value", metadata = "metadata", kind = "kind",
            error = "error", dora = "dora", input = "INPUT", stop = "STOP",
            input_closed = "INPUT_CLOSED", input_recovered = "INPUT_RECOVERED",
            error_type = "ERROR", cause = "cause", requested = "requested",
            all_inputs_closed = "all-inputs-closed", external = "external", manual_id = "MANUAL",
            all_inputs_closed_id = "ALL_INPUTS_CLOSED";
};

const Names& names() {
    static const Names* n = new Names();  // never destroyed: outlives the interpreter safely
    return *n;
}

[[noreturn]] void raise_runtime(const Error& error) { throw std::runtime_error(error.message()); }

// Locks `state`'s mutex; if another thread holds it (waiting in next()), waits without the GIL.
std::unique_lock<std::mutex> lock(NodeState& state) {
    std::unique_lock guard(state.mutex, std::try_to_lock);
    if (!guard.owns_lock()) {
        py::gil_scoped_release release;
        guard.lock();
    }
    return guard;
}

}  // namespace

int sample_getbuffer(PyObject* obj, Py_buffer* view, int flags) {
    view->obj = nullptr;
    PySample* sample = nullptr;
    try {
        sample = &py::handle(obj).cast<PySample&>();
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_BufferError, e.what());
        return -1;
    }
    if (sample->sent()) {
        PyErr_SetString(
            PyExc_BufferError,
            "this sample was sent: it belongs to its receivers now; allocate a new one");
        return -1;
    }
    auto data = sample->sample_.data();
    if (PyBuffer_FillInfo(view, obj, data.data(), static_cast<Py_ssize_t>(data.size()), 0, flags) !=
        0) {
        return -1;
    }
    ++sample->exports;
    return 0;
}

extern "C" {
static int sample_getbuffer_c(PyObject* obj, Py_buffer* view, int flags) {
    return sample_getbuffer(obj, view, flags);
}
static void sample_releasebuffer_c(PyObject* obj, Py_buffer*) {
    --py::handle(obj).cast<PySample&>().exports;
}
}

PyNode::PyNode(std::optional<std::string> node_id) : state_(std::make_shared<NodeState>()) {
    // Node("id") in a process dora did not start: a dynamic node joining its daemon.
    const bool dynamic = node_id && std::getenv(message::kNodeConfigEnv) == nullptr;
    auto impl = dynamic ? [&] {
        py::gil_scoped_release release;  // connecting may take a moment
        return NodeImpl::join_dynamic(*node_id);
    }()
                        : NodeImpl::from_env();
    if (!impl) {
        raise_runtime(impl.error());
    }
    if (node_id && *node_id != (*impl)->config().node_id) {
        throw py::value_error("Node(\"" + *node_id + "\"): this process was started as node \"" +
                              (*impl)->config().node_id +
                              "\" of its dataflow; call Node() without an id, or give the id "
                              "from the dataflow file");
    }
    state_->impl = std::move(*impl);
    impl_ = state_->impl.get();
}

py::object PyNode::to_dict(Event&& event) const {
    const Names& n = names();
    py::dict d;
    d[n.kind] = n.dora;
    switch (event.type) {
        case EventType::Input: {
            d[n.type] = n.input;
            d[n.id] = py::str(event.id);
            Array value = Array::empty();
            if (const auto& holder = detail::NodeAccess::holder(event)) {
                value = Array::from_source(ArraySource{&holder->metadata().type_info,
                                                       holder->data(), holder->data_len(), holder});
            }
            d[n.value] = py::cast(std::move(value));
            d[n.metadata] =
                to_metadata_dict(event.metadata.parameters, event.metadata.timestamp_ns);
            break;
        }
        case EventType::InputClosed:
            d[n.type] = n.input_closed;
            d[n.id] = py::str(event.id);
            break;
        case EventType::InputRecovered:
            d[n.type] = n.input_recovered;
            d[n.id] = py::str(event.id);
            break;
        case EventType::Stop:
            d[n.type] = n.stop;
            // dora's id ("MANUAL" / "ALL_INPUTS_CLOSED"), and our older `cause` beside it.
            if (event.stop_cause == StopCause::AllInputsClosed) {
                d[n.id] = n.all_inputs_closed_id;
                d[n.cause] = n.all_inputs_closed;
            } else {
                d[n.id] = n.manual_id;
                d[n.cause] = n.requested;
            }
            break;
        case EventType::Error:
            d[n.type] = n.error_type;
            d[n.id] = py::str(event.id);
            d[n.error] = py::str(event.error);
            break;
    }
    return d;
}

py::object PyNode::next(std::optional<double> timeout) {
    if (!pending_async.is_none()) {
        // A recv_async() started receiving in a thread (and may have been cancelled since): its
        // event comes first. Waiting on the future releases the GIL.
        py::object pending = std::exchange(pending_async, py::none());
        if (!pending.attr("cancelled")().cast<bool>()) {
            py::object event = pending.attr("result")();
            if (!event.is_none()) {
                return event;
            }
        }
    }
    return next_raw(timeout);
}

void PyNode::push_external(py::object item) {
    external_.push_back(std::move(item));
    impl_->interrupt();
}

py::object PyNode::take_external() {
    if (external_.empty()) {
        return py::none();
    }
    py::dict d;
    d[names().kind] = names().external;
    d[names().value] = std::move(external_.front());
    external_.pop_front();
    return d;
}

py::object PyNode::next_raw(std::optional<double> timeout) {
    if (state_->closed) {
        throw std::runtime_error("next(): the node was closed; no more events");
    }
    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> deadline;
    if (timeout) {
        const double seconds = *timeout > 0 ? *timeout : 0.0;
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(seconds));
    }
    {
        // Fast path: an event already waiting is taken without giving up the GIL (a GIL hand-off
        // costs more than the whole receive of a small message).
        std::unique_lock guard(state_->mutex, std::try_to_lock);
        if (guard.owns_lock()) {
            std::optional<Event> event = impl_->next(std::chrono::nanoseconds(0), false);
            if (event) {
                guard.unlock();
                return to_dict(std::move(*event));
            }
            if (impl_->finished()) {
                return py::none();
            }
        }
    }
    // Only the first slice spins before sleeping: an idle node must not spin every 50 ms.
    bool spin = true;
    for (;;) {
        if (py::object external = take_external(); !external.is_none()) {
            return external;
        }
        std::chrono::nanoseconds slice = kWaitSlice;
        if (deadline) {
            slice = std::min<std::chrono::nanoseconds>(
                slice, std::max<std::chrono::nanoseconds>(std::chrono::nanoseconds(0),
                                                          *deadline - Clock::now()));
        }
        std::optional<Event> event;
        bool finished = false;
        {
            py::gil_scoped_release release;
            std::lock_guard guard(state_->mutex);
            event = impl_->next(slice, std::exchange(spin, false));
            finished = impl_->finished();
        }
        if (event) {
            return to_dict(std::move(*event));
        }
        if (finished) {
            return py::none();
        }
        if (PyErr_CheckSignals() != 0) {
            throw py::error_already_set();  // KeyboardInterrupt, or the handler's exception
        }
        if (deadline && Clock::now() >= *deadline) {
            return py::none();
        }
    }
}

py::object PyNode::iter_next() {
    py::object event = next(std::nullopt);
    if (event.is_none()) {
        throw py::stop_iteration();
    }
    return event;
}

void PyNode::check_output(const std::string& output_id) const {
    if (state_->closed) {
        throw std::runtime_error("send_output(\"" + output_id +
                                 "\"): the node was closed (node.close() or the end of its `with` "
                                 "block); send before closing it");
    }
    if (!impl_->has_output(output_id)) {
        std::string known;
        for (const auto& o : impl_->config().outputs) {
            known += (known.empty() ? "" : ", ") + o.id;
        }
        throw py::value_error("send_output: node " + impl_->config().node_id + " has no output \"" +
                              output_id + "\" (its outputs: " + (known.empty() ? "none" : known) +
                              "); declare it under `outputs:` of the node in the dataflow file");
    }
}

void PyNode::send_sample(const std::string& output_id, PySample& sample, Parameters params) {
    if (sample.state_ != state_) {
        throw py::value_error("send_output(\"" + output_id +
                              "\"): this sample was allocated by another Node; send it through "
                              "the node that allocated it");
    }
    if (sample.sent()) {
        throw std::runtime_error("send_output(\"" + output_id +
                                 "\"): this sample was already sent; allocate a new one");
    }
    if (sample.exports != 0) {
        throw py::buffer_error("send_output(\"" + output_id +
                               "\"): release every memoryview of the sample first (e.g. `with "
                               "memoryview(sample) as m:`): receivers must not see it change");
    }
    const auto info = message::bytes_type_info(sample.size());
    auto guard = lock(*state_);
    // Taken out of the Python object first: whatever happens, it is sent or freed once.
    shm::WritableSample taken = std::move(sample.sample_);
    Result<> sent;
    {
        std::optional<py::gil_scoped_release> release;  // a send that may wait runs without it
        if (impl_->send_may_wait(output_id)) release.emplace();
        sent = impl_->send_sample(output_id, std::move(taken), info, params);
    }
    if (!sent) {
        throw std::runtime_error(sent.error().message());
    }
}

void PyNode::send_output(const std::string& output_id, py::handle data, py::handle metadata) {
    check_output(output_id);
    Parameters params = to_parameters(metadata);
    if (py::isinstance<PySample>(data)) {
        send_sample(output_id, data.cast<PySample&>(), std::move(params));
        return;
    }
    Prepared prepared;
    prepare(data, prepared);
    Result<> sent;
    auto send = [&] {
        sent = impl_->send(output_id, prepared.info, prepared.size, params, prepared.fill);
    };
    auto guard = lock(*state_);
    // Large copies, and sends that may wait for a receiver (backpressure), run without the GIL.
    if (prepared.size >= kReleaseGilAbove || impl_->send_may_wait(output_id)) {
        py::gil_scoped_release release;
        send();
    } else {
        send();
    }
    if (!sent) {
        throw std::runtime_error(sent.error().message());
    }
}

PySample PyNode::allocate_output(size_t size) {
    if (state_->closed) {
        throw std::runtime_error("allocate_output: the node was closed");
    }
    auto guard = lock(*state_);
    auto sample = impl_->allocate(size);
    if (!sample) {
        throw std::runtime_error("allocate_output(" + std::to_string(size) +
                                 "): " + sample.error().message());
    }
    return PySample(state_, std::move(*sample));
}

void PyNode::close() {
    auto guard = lock(*state_);
    state_->closed = true;
    impl_->close_outputs();
}

std::string PyNode::dataflow_id() const { return impl_->config().dataflow_id; }
std::string PyNode::node_id() const { return impl_->config().node_id; }

py::object PyNode::dataflow_descriptor() const {
    auto json = impl_->dataflow_descriptor();
    if (!json) {
        raise_runtime(json.error());
    }
    return json_to_python(*json);
}

// The three below read immutable configuration and atomic counters: no lock needed.
std::vector<std::string> PyNode::input_ids() const { return impl_->input_ids(); }
std::vector<std::string> PyNode::output_ids() const { return impl_->output_ids(); }
std::map<std::string, uint64_t> PyNode::dropped_inputs() const { return impl_->dropped_inputs(); }

std::string PyNode::repr() const {
    return "<dora.Node " + impl_->config().node_id + " of dataflow " + impl_->config().dataflow_id +
           (state_->closed ? " (closed)" : "") + ">";
}

void bind_node(py::module_& m) {
    auto sample = py::class_<PySample>(m, "OutputSample", R"doc(
A writable shared-memory sample from Node.allocate_output(size): fill it through its buffer
(memoryview(sample), numpy.frombuffer(sample, ...)), release those views, then send it with
node.send_output(output_id, sample). It is sent as a uint8 array without any copy.)doc");
    sample.def("__len__", &PySample::size)
        .def_property_readonly("sent", &PySample::sent)
        .def("__repr__", [](const PySample& s) {
            return "<dora.OutputSample " + std::to_string(s.size()) + " bytes" +
                   (s.sent() ? ", sent>" : ">");
        });
    auto* heap = reinterpret_cast<PyHeapTypeObject*>(sample.ptr());
    heap->ht_type.tp_as_buffer = &heap->as_buffer;
    heap->as_buffer.bf_getbuffer = sample_getbuffer_c;
    heap->as_buffer.bf_releasebuffer = sample_releasebuffer_c;

    py::class_<PyNode>(m, "Node", R"doc(
The node this process runs as, in the dataflow whose daemon started it.

    from dora import Node
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            node.send_output("out", event["value"], event["metadata"])
)doc")
        .def(py::init<std::optional<std::string>>(), py::arg("node_id") = py::none())
        .def("next", &PyNode::next, py::arg("timeout") = py::none())
        .def("_next_raw", &PyNode::next_raw, py::arg("timeout") = py::none())
        .def("_push_external", &PyNode::push_external, py::arg("item"))
        .def_readwrite("_pending_async", &PyNode::pending_async)
        .def("__iter__", [](py::object self) { return self; })
        .def("__next__", &PyNode::iter_next)
        .def("send_output", &PyNode::send_output, py::arg("output_id"), py::arg("data"),
             py::arg("metadata") = py::none())
        .def("allocate_output", &PyNode::allocate_output, py::arg("size"))
        .def("close", &PyNode::close)
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__",
             [](PyNode& node, const py::object&, const py::object&, const py::object&) {
                 node.close();
                 return false;
             })
        .def("dataflow_id", &PyNode::dataflow_id)
        .def("node_id", &PyNode::node_id)
        .def("dataflow_descriptor", &PyNode::dataflow_descriptor)
        .def("input_ids", &PyNode::input_ids)
        .def("output_ids", &PyNode::output_ids)
        .def("dropped_inputs", &PyNode::dropped_inputs)
        .def("__repr__", &PyNode::repr);
}

}  // namespace dora::python
