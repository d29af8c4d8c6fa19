#!/usr/bin/env bash
# libdora-node.so exports the node API and nothing of dora's internals: every exported symbol
# that names dora belongs to a class marked DORA_NODE_API (Node, Event, OutputSample, NodeError),
# and nothing of shm, message, fmt, yaml-cpp, nlohmann-json or tl::expected leaves the library.
# (Weak instantiations of std:: templates stay visible, as libstdc++ declares them so.)
#   exports_test.sh <path to libdora-node.so>
set -euo pipefail
lib=$1
symbols=$(nm -DC --defined-only "$lib" | cut -d' ' -f3-)
status=0

forbidden=$(grep -E 'dora::(shm|message|node_api|sys|detail)::|fmt::|YAML::|nlohmann::|tl::' \
    <<<"$symbols" || true)
if [[ -n $forbidden ]]; then
    echo "internal symbols exported by $lib:"
    echo "$forbidden" | cut -c1-200
    status=1
fi

# Strip "typeinfo for " and friends, then look at what the symbol itself is.
public='^(dora::(Node|Event|OutputSample)::|dora::NodeError$)'
stray=$(sed -E 's/^(typeinfo name for|typeinfo for|vtable for|guard variable for) //' \
    <<<"$symbols" | grep -E '^dora::' | grep -Ev "$public" || true)
if [[ -n $stray ]]; then
    echo "dora symbols exported by $lib that are not the public API:"
    echo "$stray" | cut -c1-200
    status=1
fi

for wanted in 'dora::Node::try_from_env()' 'dora::Node::from_env()' \
    'dora::Node::next(' 'dora::Node::try_send_output(' 'dora::Node::close()' \
    'dora::Event::as_string() const' 'dora::OutputSample::data() const' \
    'typeinfo for dora::NodeError' init_dora_context_from_env dora_next_event \
    read_dora_input_data dora_send_output init_dora_context_from_id 'init_dora_node()' 'Events::next()' 'event_as_input(' \
    'send_output(rust::Box<OutputSender>&'; do
    if ! grep -qF -- "$wanted" <<<"$symbols"; then
        echo "$lib does not export $wanted"
        status=1
    fi
done

if ((status == 0)); then
    echo "$lib exports $(grep -c '^dora::' <<<"$symbols") dora API symbols and no internals"
fi
exit $status
