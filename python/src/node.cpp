#include "node.hpp"

#include <pybind11/stl.h>

#include "array.hpp"
#include "convert.hpp"
#include "descriptor.hpp"

namespace dora::python {

namespace {

// Interned keys and values of event dicts, created once.
struct Names {
    py::str type = "type", id = "id", value = "value", metadata = "metadata", kind = "kind",
            error = "error", dora = "dora", input = "INPUT", stop = "STOP",
            input_closed = "INPUT_CLOSED", error_type = "ERROR", cause = "cause",
            requested = "requested", all_inputs_closed = "all-inputs-closed";
};

const Names& names() {
    static const Names* n = new Names();  // never destroyed: outlives the interpreter safely
    return *n;
}

[[noreturn]] void raise_runtime(const Error& error) { throw std::runtime_error(error.message()); }

}  // namespace

PyNode::PyNode(std::optional<std::string> node_id) {
    auto impl = NodeImpl::from_env();
    if (!impl) {
        raise_runtime(impl.error());
    }
    if (node_id && *node_id != (*impl)->config().node_id) {
        throw py::value_error("Node(\"" + *node_id + "\"): this process was started as node \"" +
                              (*impl)->config().node_id +
                              "\" of its dataflow; call Node() without an id, or give the id "
                              "from the dataflow file");
    }
    impl_ = std::move(*impl);
}

void PyNode::lock() {
    if (!mutex_.try_lock()) {
        // Another thread waits in next(): let it finish its slice without holding the GIL.
        py::gil_scoped_release release;
        mutex_.lock();
    }
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
            if (event.holder) {
                const auto& held = *event.holder;
                value = Array::from_source(ArraySource{held.metadata().type_info, held.data(),
                                                       held.data_len(), event.holder});
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
        case EventType::Stop:
            d[n.type] = n.stop;
            d[n.cause] =
                event.stop_cause == StopCause::AllInputsClosed ? n.all_inputs_closed : n.requested;
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
    if (closed_) {
        throw std::runtime_error("next(): the node was closed; no more events");
    }
    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> deadline;
    if (timeout) {
        const double seconds = *timeout > 0 ? *timeout : 0.0;
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(seconds));
    }
    for (;;) {
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
            std::lock_guard guard(mutex_);
            event = impl_->next(slice);
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

void PyNode::send_output(const std::string& output_id, py::handle data, py::handle metadata) {
    if (closed_) {
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
    Parameters params = to_parameters(metadata);
    Prepared prepared;
    prepare(data, prepared);
    Result<> sent;
    auto send = [&] {
        sent = impl_->send(output_id, prepared.info, prepared.size, params, prepared.fill);
    };
    lock();
    std::lock_guard guard(mutex_, std::adopt_lock);
    if (prepared.size >= kReleaseGilAbove) {
        py::gil_scoped_release release;
        send();
    } else {
        send();
    }
    if (!sent) {
        throw std::runtime_error(sent.error().message());
    }
}

void PyNode::close() {
    lock();
    std::lock_guard guard(mutex_, std::adopt_lock);
    closed_ = true;
    impl_->close_outputs();
}

std::string PyNode::dataflow_id() const { return impl_->config().dataflow_id; }
std::string PyNode::node_id() const { return impl_->config().node_id; }

py::object PyNode::dataflow_descriptor() const {
    const std::string& path = impl_->config().descriptor_path;
    if (path.empty()) {
        throw std::runtime_error(
            "dataflow_descriptor(): the daemon did not give this node its dataflow file");
    }
    return load_yaml_file(path);
}

std::string PyNode::repr() const {
    return "<dora.Node " + impl_->config().node_id + " of dataflow " + impl_->config().dataflow_id +
           (closed_ ? " (closed)" : "") + ">";
}

void bind_node(py::module_& m) {
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
        .def("__iter__", [](py::object self) { return self; })
        .def("__next__", &PyNode::iter_next)
        .def("send_output", &PyNode::send_output, py::arg("output_id"), py::arg("data"),
             py::arg("metadata") = py::none())
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
        .def("__repr__", &PyNode::repr);
}

}  // namespace dora::python
