// `dora record [DATAFLOW] [NODE/OUTPUT...] -o FILE.mcap [--duration S] [--count N]`: watches a
// running dataflow's outputs (cli/watch.hpp: every output, or the selected ones) and writes every
// message that arrives, with its receive time, HLC timestamp, Arrow type, parameters and data,
// into an MCAP file in the dora recording layout (mcap/recording.hpp), which `dora replay` reads
// back and Foxglove or the mcap tools open. A progress line on stderr (messages, bytes, rate)
// is rewritten once a second on a terminal, printed every 5 s otherwise. Stops at Ctrl-C,
// --duration, --count, or when every recorded output has ended (its node exited); the file is
// then closed with its summary. The file is flushed once a second, so a recorder that is killed
// loses at most a second (`dora replay` reads a cut file up to its last whole message).
//
// Like any watcher it gets at most the 4 newest messages per output that it has not taken yet;
// one that falls behind misses the oldest (the producer's log says how many).
#include <unistd.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/watch.hpp"
#include "mcap/recording.hpp"

namespace dora::cli {
namespace {

struct RecordOptions {
    ClientOptions client;
    std::string dataflow;
    std::vector<std::string> positionals;
    std::string output;
    double duration = 0;
    uint64_t count = 0;
};

void record(RecordOptions& o) {
    if (o.output.empty()) {
        throw Exception(Error::make("say where to write: -o FILE.mcap"));
    }
    split_dataflow_and_topics(o.dataflow, o.positionals);
    auto dataflow = describe_dataflow(o.client, o.dataflow);
    auto topics = select_topics(dataflow, o.positionals);
    auto writer = or_throw(mcap::RecordingWriter::create(
        o.output, mcap::DataflowInfo{dataflow.description.dataflow_id, dataflow.description.name}));

    std::set<const Topic*> open(topics.begin(), topics.end());
    uint64_t undecodable = 0;
    std::optional<Error> failure;
    std::unique_ptr<Watch> watch;
    watch = Watch::open(dataflow, topics, [&](const Arrival& a) {
        if (failure || (o.count > 0 && writer->message_count() >= o.count)) {
            return;
        }
        if (a.end_of_stream) {
            open.erase(&a.topic);
            if (open.empty()) watch->stop();  // every recorded output has ended
            return;
        }
        if (!a.metadata) {
            if (undecodable++ == 0) {
                std::cerr << "\nskipping a sample of " << a.topic.name() << ": " << a.error << "\n";
            }
            return;
        }
        const auto received = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(a.received.time_since_epoch())
                .count());
        if (auto ok = writer->add(a.topic.node, a.topic.output, a.topic.machine, *a.metadata,
                                  a.data, received);
            !ok) {
            failure = ok.error();
            watch->stop();
            return;
        }
        if (o.count > 0 && writer->message_count() >= o.count) {
            watch->stop();
        }
    });

    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    const auto started = std::chrono::steady_clock::now();
    uint64_t last_count = 0;
    int ticks = 0;
    auto progress = [&](bool final) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const uint64_t n = writer->message_count();
        std::string line = fmt::format(
            "recording {} output(s) of {} to {}: {} message(s), {}, {:.1f} msg/s", topics.size(),
            dataflow.label(), o.output, n, byte_size_text(static_cast<double>(writer->bytes())),
            final ? (seconds > 0 ? static_cast<double>(n) / seconds : 0.0)
                  : static_cast<double>(n - last_count));
        last_count = n;
        if (terminal) {
            std::cerr << "\r\033[K" << line << (final ? "\n" : "") << std::flush;
        } else if (final || ++ticks % 5 == 0) {
            std::cerr << line << "\n";
        }
    };
    Timer every = watch->loop().add_periodic(std::chrono::seconds(1), [&] {
        if (auto ok = writer->flush(); !ok && !failure) {
            failure = ok.error();
            watch->stop();
        }
        progress(false);
    });
    std::cerr << "recording " << topics.size() << " output(s) of " << dataflow.label() << " to "
              << o.output << " (Ctrl-C to stop)\n";
    watch->run(std::chrono::milliseconds(static_cast<int64_t>(o.duration * 1000)));
    every.cancel();
    watch.reset();  // no more arrivals
    auto closed = writer->close();
    progress(true);
    if (failure) {
        throw Exception(failure->context(fmt::format("writing {}", o.output)));
    }
    if (!closed) {
        throw Exception(closed.error().context(fmt::format("closing {}", o.output)));
    }
    if (undecodable > 0) {
        std::cerr << undecodable << " sample(s) without readable dora metadata were skipped\n";
    }
    if (open.empty()) {
        std::cerr << "every recorded output has ended (its node exited)\n";
    }
}

}  // namespace

void add_record_command(CLI::App& app) {
    auto o = std::make_shared<RecordOptions>();
    auto* cmd = app.add_subcommand(
        "record", "Record a running dataflow's outputs into an MCAP file (dora replay reads it)");
    cmd->add_option("-d,--dataflow", o->dataflow, "Dataflow UUID or name");
    cmd->add_option("args", o->positionals,
                    "[DATAFLOW] [NODE/OUTPUT...] (every output when none is named)");
    cmd->add_option("-o,--output", o->output, "The MCAP file to write")->required();
    cmd->add_option("--duration", o->duration, "Stop after S seconds")->check(CLI::PositiveNumber);
    cmd->add_option("--count", o->count, "Stop after N messages")->check(CLI::PositiveNumber);
    add_client_options(cmd, o->client);
    cmd->callback([o] { record(*o); });
}

}  // namespace dora::cli
