# What a broadcast costs an Elixir caller: CrmPubSub.broadcast_interaction/2
# (subject plus two parties) against a real crmpubsubd, as
# tests/bench/client_cost.c measures libcrmpubsub.
#
#   tests/bench/elixir_cost.sh --top . --out tests/bench/out [N]   (what `make bench` runs)
#   cd client/elixir && MIX_ENV=test mix run ../../tests/bench/elixir_cost.exs [N] [OUT_FILE]
#
# MIX_ENV=test for CrmPubSub.TestDaemon, which starts the daemon on a private socket; the
# client's code is compiled the same in every environment.
#
# Per case, microseconds per call: "caller" is the wall time of the calling
# loop divided by N (the caller never waits, so that is its CPU plus any
# descheduling), p50/p99 of single calls; "VM CPU" is the whole BEAM's CPU
# time (caller, connection process, socket I/O, every thread) from the
# first call until the daemon answered the last broadcast, per call;
# "calls/s" is N over that same span.

alias CrmPubSub.TestDaemon

{n, out} =
  case System.argv() do
    [n, out | _] -> {String.to_integer(n), out}
    [n] -> {String.to_integer(n), nil}
    [] -> {100_000, nil}
  end

uuid = fn i ->
  "0190a5b2-7c1e-7a01-8f00-" <> String.pad_leading(Integer.to_string(i, 16), 12, "0")
end

interactions =
  for i <- 1..n do
    %{
      uuid: uuid.(0x100000 + i),
      contact_uuid: uuid.(1),
      parties: [%{contact_uuid: uuid.(2)}, %{contact_uuid: uuid.(3)}]
    }
  end

defmodule ElixirCost do
  # Compiled, unlike the script around it: the loop must cost what an
  # application's code costs, not what the script interpreter does.

  @doc "Broadcasts every interaction of batch; timings and outcome."
  def run(label, batch, flush?) do
    t_cpu = cpu_ms()
    t0 = System.monotonic_time(:nanosecond)
    times = call_each(batch, [])
    t1 = System.monotonic_time(:nanosecond)
    flushed = if flush?, do: CrmPubSub.flush(60_000), else: :not_waited
    t2 = System.monotonic_time(:nanosecond)
    cpu = cpu_ms() - t_cpu
    sorted = Enum.sort(times)
    count = length(batch)
    pct = fn p -> Enum.at(sorted, min(count - 1, trunc(count * p))) / 1000 end

    %{
      case: label,
      caller: (t1 - t0) / count / 1000,
      p50: pct.(0.50),
      p99: pct.(0.99),
      vm_cpu: cpu * 1000 / count,
      calls_s: if(flushed == :ok, do: round(count / ((t2 - t0) / 1.0e9)), else: nil)
    }
  end

  defp call_each([], times), do: times

  defp call_each([i | rest], times) do
    a = System.monotonic_time(:nanosecond)
    :ok = CrmPubSub.broadcast_interaction(:interaction_created, i)
    call_each(rest, [System.monotonic_time(:nanosecond) - a | times])
  end

  defp cpu_ms, do: elem(:erlang.statistics(:runtime), 0)
end

run = &ElixirCost.run/3

row = fn r, stats ->
  :io_lib.format("| ~s | ~.2f | ~.2f | ~.2f | ~.2f | ~s | ~w | ~w | ~w |~n", [
    r.case,
    r.caller,
    r.p50,
    r.p99,
    r.vm_cpu,
    if(r.calls_s, do: Integer.to_string(r.calls_s), else: "-"),
    stats.acked,
    stats.dropped,
    stats.lost
  ])
end

delta = fn before, now -> Map.new([:acked, :dropped, :lost], &{&1, now[&1] - before[&1]}) end

{:ok, daemon} = TestDaemon.start_link([])
{:ok, _} = CrmPubSub.start_link(socket: TestDaemon.socket(daemon))
Logger.configure(level: :error)

# Warm-up: code loaded, connection up, JIT'd paths hot.
run.("warm-up", Enum.take(interactions, min(n, 10_000)), true)

header = """
Elixir client, #{n} broadcast_interaction calls per case (subject + 2 parties), #{System.schedulers_online()} schedulers, codec #{inspect(elem(CrmPubSub.Mailbox.shared(), 1))}
| case | caller µs/call | p50 | p99 | VM CPU µs/call | calls/s | acked | dropped | lost |
|---|---|---|---|---|---|---|---|---|
"""

rows = [
  fn ->
    s0 = CrmPubSub.stats()
    r = run.("daemon up, no subscriber", interactions, true)
    row.(r, delta.(s0, CrmPubSub.stats()))
  end,
  fn ->
    parent = self()

    sub =
      spawn(fn ->
        :ok = CrmPubSub.subscribe(CrmPubSub.topic_contact_interactions(uuid.(1)))
        send(parent, :subscribed)
        drain = fn drain -> receive do: (_ -> drain.(drain)) end
        drain.(drain)
      end)

    receive do: (:subscribed -> :ok)
    s0 = CrmPubSub.stats()
    r = run.("daemon up, one subscriber process", interactions, true)
    line = row.(r, delta.(s0, CrmPubSub.stats()))
    Process.exit(sub, :kill)
    line
  end,
  fn ->
    0 = TestDaemon.stop(daemon)
    s0 = CrmPubSub.stats()
    queued = Enum.take(interactions, 3000)
    r = run.("daemon down, queueing (first 3000)", queued, false)
    a = row.(r, delta.(s0, CrmPubSub.stats()))
    s1 = CrmPubSub.stats()
    r = run.("daemon down, queue full (dropping)", Enum.drop(interactions, 3000), false)
    b = row.(r, delta.(s1, CrmPubSub.stats()))
    [a, b]
  end
]

body = Enum.map(rows, & &1.())
text = IO.iodata_to_binary([header | body])
IO.write(text)
if out, do: File.write!(out, text)
# Stops the daemon (down already) and removes its directory.
GenServer.stop(daemon)
