#include "operator_runtime/shared_library.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>

namespace dora::operator_runtime {

namespace {

std::string dl_error() {
    const char* text = dlerror();
    return text == nullptr ? std::string("unknown error") : std::string(text);
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) {
        out += (out.empty() ? "" : ", ") + name;
    }
    return out.empty() ? "none" : out;
}

// The operator holds no references the runtime counts: it lives until dora_drop_operator.
void keep(void* /*env*/) {}

}  // namespace

SharedLibraryOperator::SharedLibraryOperator(OperatorSpec spec, OutputSink sink, void* library)
    : spec_(std::move(spec)), sink_(std::move(sink)), library_(library) {
    send_output_.send_output = {this, &SharedLibraryOperator::call_send, &keep, &keep};
}

SharedLibraryOperator::~SharedLibraryOperator() {
    if (initialized_ && !dropped_) {
        (void)drop();  // the destructor has nobody to report to; callers drop() first
    }
}

Result<std::unique_ptr<SharedLibraryOperator>> SharedLibraryOperator::load(OperatorSpec spec,
                                                                           OutputSink sink) {
    void* library = dlopen(spec.library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        return fail("operator `{}`: cannot load its shared library: {}", spec.id, dl_error());
    }
    std::unique_ptr<SharedLibraryOperator> op(
        new SharedLibraryOperator(std::move(spec), std::move(sink), library));
    if (auto bound = op->bind(); !bound) {
        return fail(bound.error());
    }
    if (auto initialized = op->init(); !initialized) {
        return fail(initialized.error());
    }
    return op;
}

Result<> SharedLibraryOperator::bind() {
    auto symbol = [this](const char* name) -> Result<void*> {
        dlerror();
        void* address = dlsym(library_, name);
        if (address == nullptr) {
            return fail(
                "operator `{}`: {} has no `{}` ({}); an operator defines dora_init_operator, "
                "dora_on_event and dora_drop_operator as extern \"C\" functions "
                "(dora/operator_api.h)",
                spec_.id, spec_.library, name, dl_error());
        }
        return address;
    };
    auto init = symbol("dora_init_operator");
    auto on_event = symbol("dora_on_event");
    auto drop = symbol("dora_drop_operator");
    for (const auto* found : {&init, &on_event, &drop}) {
        if (!*found) {
            return fail(found->error());
        }
    }
    init_ = reinterpret_cast<InitFn>(*init);
    on_event_ = reinterpret_cast<OnEventFn>(*on_event);
    drop_ = reinterpret_cast<DropFn>(*drop);
    return {};
}

Result<> SharedLibraryOperator::init() {
    const DoraInitResult_t result = init_();
    if (auto error = take_error(result.result)) {
        return fail("operator `{}`: dora_init_operator returned an error: {}", spec_.id, *error);
    }
    context_ = result.operator_context;
    initialized_ = true;
    return {};
}

Result<DoraStatus_t> SharedLibraryOperator::on_event(RawEvent_t& event, std::string_view what) {
    in_event_ = true;
    thread_ = std::this_thread::get_id();
    const OnEventResult_t result = on_event_(&event, &send_output_, context_);
    in_event_ = false;
    if (auto error = take_error(result.result)) {
        return fail("operator `{}`: dora_on_event returned an error (event {}): {}", spec_.id, what,
                    *error);
    }
    if (result.status > DORA_STATUS_STOP_ALL) {
        return fail(
            "operator `{}`: dora_on_event returned status {} (event {}); return "
            "DORA_STATUS_CONTINUE, DORA_STATUS_STOP or DORA_STATUS_STOP_ALL",
            spec_.id, result.status, what);
    }
    return result.status;
}

Result<> SharedLibraryOperator::drop() {
    if (!initialized_ || dropped_) {
        return {};
    }
    dropped_ = true;
    if (auto error = take_error(drop_(context_))) {
        return fail("operator `{}`: dora_drop_operator returned an error: {}", spec_.id, *error);
    }
    return {};
}

DoraResult_t SharedLibraryOperator::call_send(void* env, Output output) {
    return static_cast<SharedLibraryOperator*>(env)->send(output);
}

DoraResult_t SharedLibraryOperator::send(const Output& output) {
    if (!in_event_ || std::this_thread::get_id() != thread_) {
        return error_result(fmt::format(
            "operator `{}`: outputs are sent only while dora_on_event runs, from its thread "
            "(output `{}`)",
            spec_.id, output.id));
    }
    const std::string_view id(output.id);
    if (std::find(spec_.outputs.begin(), spec_.outputs.end(), id) == spec_.outputs.end()) {
        return error_result(fmt::format(
            "operator `{}` has no output `{}` (its outputs: {}); declare it under the operator's "
            "`outputs:` in the dataflow",
            spec_.id, id, joined(spec_.outputs)));
    }
    const auto* bytes = reinterpret_cast<const std::byte*>(output.data);
    std::string error = sink_(spec_.id + "/" + std::string(id), std::span(bytes, output.len));
    if (!error.empty()) {
        return error_result(fmt::format("operator `{}`: output `{}`: {}", spec_.id, id, error));
    }
    return DoraResult_t{nullptr};
}

}  // namespace dora::operator_runtime
