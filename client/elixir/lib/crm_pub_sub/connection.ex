defmodule CrmPubSub.Connection do
  @moduledoc false
  # The node's one connection to crmpubsubd. It owns the socket, the local
  # subscription table and the queue of requests, and is the only process
  # that writes to or reads from the daemon.
  #
  # Invariants:
  # - `pending` lists, in write order, the requests sent on the current
  #   socket and not answered yet; replies arrive in that order, so the
  #   head of `pending` is what the next reply answers.
  # - `out` holds lines appended since the last write (newest first); it is
  #   written when the mailbox is empty (GenServer timeout 0), when it
  #   passes `coalesce_bytes`, and before any subscribe/unsubscribe/flush.
  # - `queue` is only non-empty while disconnected: broadcasts waiting for
  #   the next connection, at most `max_queue_bytes`.
  # - `done <= added` count requests: every request made is eventually
  #   answered, or counted lost when its connection breaks.

  use GenServer
  require Logger

  alias CrmPubSub.{Codec, SocketPath, Subscriptions, Wire}

  @key {CrmPubSub, :client}
  # Slots of the atomics shared with callers: broadcasts in the mailbox,
  # broadcasts dropped because the mailbox was full, broadcasts rejected.
  @in_mailbox 1
  @dropped_busy 2
  @rejected 3
  @resubscribe_batch 100
  @max_buffer 16 * 1024 * 1024

  @defaults [
    socket: nil,
    codec: nil,
    client_name: nil,
    max_queue_bytes: 1024 * 1024,
    max_mailbox: 10_000,
    coalesce_bytes: 16 * 1024,
    request_timeout: 2_000,
    connect_timeout: 1_000,
    send_timeout: 5_000,
    reconnect_min: 100,
    reconnect_max: 5_000
  ]

  def start_link(opts) do
    GenServer.start_link(__MODULE__, opts, name: CrmPubSub)
  end

  @doc "What callers need to broadcast without a call: {atomics, codec, mailbox bound}."
  def shared, do: :persistent_term.get(@key, nil)

  @doc "Counts a broadcast a caller rejected (bad arguments)."
  def count_rejected({ref, _codec, _limit}), do: :atomics.add(ref, @rejected, 1)
  def count_rejected(nil), do: :ok

  @doc "Hands a broadcast line to the connection, or drops it when the mailbox is full."
  def submit({ref, _codec, limit}, line) do
    if :atomics.add_get(ref, @in_mailbox, 1) > limit do
      :atomics.sub(ref, @in_mailbox, 1)
      :atomics.add(ref, @dropped_busy, 1)
    else
      GenServer.cast(CrmPubSub, {:broadcast, line})
    end

    :ok
  end

  @impl true
  def init(opts) do
    opts = Keyword.merge(@defaults, opts)
    codec = Codec.resolve(opts[:codec])
    ref = :atomics.new(3, signed: true)
    :persistent_term.put(@key, {ref, codec, opts[:max_mailbox]})

    state = %{
      opts: Map.new(opts),
      name: opts[:client_name] || "elixir #{node()}",
      codec: codec,
      atomics: ref,
      sock: nil,
      path: nil,
      buf: "",
      out: [],
      out_bytes: 0,
      queue: :queue.new(),
      queue_bytes: 0,
      pending: :queue.new(),
      subs: %Subscriptions{},
      calls: %{},
      waiters: %{},
      added: 0,
      done: 0,
      backoff: 0,
      warned: false,
      stats: %{
        broadcasts: 0,
        acked: 0,
        failed: 0,
        dropped: 0,
        lost: 0,
        received: 0,
        resyncs: 0,
        connects: 0
      }
    }

    {:ok, state, {:continue, :connect}}
  end

  @impl true
  def handle_continue(:connect, state), do: noreply(connect(state))

  @impl true
  def handle_cast({:broadcast, line}, state) do
    :atomics.sub(state.atomics, @in_mailbox, 1)
    state = bump(%{state | added: state.added + 1}, :broadcasts)
    noreply(broadcast(state, line))
  end

  @impl true
  def handle_call({:subscribe, topic}, {pid, _} = from, state) do
    with {:ok, canon} <- Wire.canonical_topic(topic),
         {:new_topic, subs} <- Subscriptions.add(state.subs, canon, pid) do
      state = %{state | subs: subs}

      if state.sock do
        call = make_ref()
        Process.send_after(self(), {:call_timeout, call}, state.opts.request_timeout)
        state = %{state | calls: Map.put(state.calls, call, from), added: state.added + 1}
        state = request(state, Wire.subscribe(state.codec, [canon]), {:sub, [canon], call, false})
        noreply(write(state))
      else
        reply(state, :ok)
      end
    else
      :error -> reply(state, {:error, :bad_topic})
      {_already_or_added, subs} -> reply(%{state | subs: subs}, :ok)
    end
  end

  def handle_call({:unsubscribe, topic}, {pid, _}, state) do
    case Wire.canonical_topic(topic) do
      {:ok, canon} ->
        {emptied, subs} = Subscriptions.remove(state.subs, canon, pid)
        reply(drop_daemon_topics(%{state | subs: subs}, emptied), :ok)

      :error ->
        reply(state, :ok)
    end
  end

  def handle_call({:flush, timeout}, from, state) do
    if state.done >= state.added do
      reply(state, :ok)
    else
      wait = make_ref()
      Process.send_after(self(), {:flush_timeout, wait}, timeout)
      noreply(write(%{state | waiters: Map.put(state.waiters, wait, {state.added, from})}))
    end
  end

  def handle_call(:stats, _from, state) do
    ref = state.atomics

    stats =
      Map.merge(state.stats, %{
        dropped: state.stats.dropped + :atomics.get(ref, @dropped_busy),
        rejected: :atomics.get(ref, @rejected),
        pending: state.added - state.done,
        connected: state.sock != nil,
        socket: state.path,
        topics: length(Subscriptions.topics(state.subs)),
        subscribers: length(Subscriptions.pids(state.subs))
      })

    reply(state, stats)
  end

  @impl true
  def handle_info({:tcp, sock, data}, %{sock: sock} = state) do
    {lines, rest} = split_lines(state.buf <> data)
    state = Enum.reduce(lines, %{state | buf: rest}, &handle_line/2)

    if byte_size(rest) > @max_buffer,
      do: noreply(disconnected(state, :line_too_long)),
      else: noreply(state)
  end

  def handle_info({:tcp_passive, sock}, %{sock: sock} = state) do
    :inet.setopts(sock, active: 32)
    noreply(state)
  end

  def handle_info({:tcp_closed, sock}, %{sock: sock} = state),
    do: noreply(disconnected(state, :closed))

  def handle_info({:tcp_error, sock, reason}, %{sock: sock} = state),
    do: noreply(disconnected(state, reason))

  def handle_info(:timeout, state), do: noreply(write(state))

  def handle_info(:reconnect, %{sock: nil} = state), do: noreply(connect(state))

  def handle_info({:DOWN, _ref, :process, pid, _reason}, state) do
    {emptied, subs} = Subscriptions.down(state.subs, pid)
    noreply(drop_daemon_topics(%{state | subs: subs}, emptied))
  end

  def handle_info({:call_timeout, call}, state) do
    {from, calls} = Map.pop(state.calls, call)
    if from, do: GenServer.reply(from, :ok)
    noreply(%{state | calls: calls})
  end

  def handle_info({:flush_timeout, wait}, state) do
    {waiter, waiters} = Map.pop(state.waiters, wait)
    with {_, from} <- waiter, do: GenServer.reply(from, {:error, :timeout})
    noreply(%{state | waiters: waiters})
  end

  # A message for a socket already closed, or a stale timer.
  def handle_info(_other, state), do: noreply(state)

  @impl true
  def terminate(_reason, state) do
    if state.sock, do: :gen_tcp.close(state.sock)
  end

  # --- connection --------------------------------------------------------

  defp connect(state) do
    path = SocketPath.resolve(state.opts.socket)

    opts = [
      :local,
      :binary,
      active: 32,
      send_timeout: state.opts.send_timeout,
      send_timeout_close: true
    ]

    case :gen_tcp.connect({:local, path}, 0, opts, state.opts.connect_timeout) do
      {:ok, sock} ->
        if state.warned, do: Logger.info("crmpubsub: connected to #{path}")
        connected(%{state | sock: sock, path: path, backoff: 0, warned: false})

      {:error, reason} ->
        unless state.warned,
          do: Logger.warning("crmpubsub: cannot reach the daemon at #{path} (#{inspect(reason)}), retrying")

        reconnect_later(%{state | path: path, warned: true})
    end
  end

  # Greets the daemon, subscribes again to every topic held (the last batch
  # triggers the resync), then sends what waited in the queue.
  defp connected(state) do
    state = bump(state, :connects)
    state = request(%{state | added: state.added + 1}, Wire.hello(state.codec, state.name), :hello)
    batches = state.subs |> Subscriptions.topics() |> Enum.chunk_every(@resubscribe_batch)
    last = length(batches)

    state =
      batches
      |> Enum.with_index(1)
      |> Enum.reduce(state, fn {topics, i}, acc ->
        acc = %{acc | added: acc.added + 1}
        request(acc, Wire.subscribe(acc.codec, topics), {:sub, topics, nil, i == last})
      end)

    state =
      state.queue
      |> :queue.to_list()
      |> Enum.reduce(%{state | queue: :queue.new(), queue_bytes: 0}, &request(&2, &1, :broadcast))

    write(state)
  end

  defp reconnect_later(state) do
    %{reconnect_min: min, reconnect_max: max} = state.opts
    delay = state.backoff
    jittered = if delay > 0, do: div(delay, 2) + :rand.uniform(div(delay, 2) + 1), else: 0
    Process.send_after(self(), :reconnect, jittered)
    %{state | backoff: delay |> Kernel.*(2) |> max(min) |> min(max)}
  end

  # The socket broke: requests in flight are lost, waiting subscribers hold
  # their topics (the resync after reconnection tells them to refetch).
  defp disconnected(state, reason) do
    :gen_tcp.close(state.sock)
    Logger.warning("crmpubsub: connection to the daemon lost (#{inspect(reason)}), reconnecting")
    entries = :queue.to_list(state.pending)
    lost = Enum.count(entries, &(&1 == :broadcast))
    for {:sub, _, call, _} <- entries, Map.has_key?(state.calls, call), do: GenServer.reply(state.calls[call], :ok)

    state = %{
      state
      | sock: nil,
        buf: "",
        out: [],
        out_bytes: 0,
        pending: :queue.new(),
        calls: %{},
        done: state.done + length(entries),
        stats: %{state.stats | lost: state.stats.lost + lost}
    }

    state |> answer_waiters() |> reconnect_later()
  end

  # --- requests ----------------------------------------------------------

  defp broadcast(%{sock: nil} = state, line) do
    size = :erlang.iolist_size(line)

    if state.queue_bytes + size <= state.opts.max_queue_bytes do
      %{state | queue: :queue.in(line, state.queue), queue_bytes: state.queue_bytes + size}
    else
      bump(%{state | done: state.done + 1}, :dropped) |> answer_waiters()
    end
  end

  defp broadcast(state, line) do
    state = request(state, line, :broadcast)
    if state.out_bytes >= state.opts.coalesce_bytes, do: write(state), else: state
  end

  # Appends a request line and what its reply will answer.
  defp request(state, line, entry) do
    %{
      state
      | out: [line | state.out],
        out_bytes: state.out_bytes + :erlang.iolist_size(line),
        pending: :queue.in(entry, state.pending)
    }
  end

  defp write(%{out: []} = state), do: state
  defp write(%{sock: nil} = state), do: state

  defp write(state) do
    case :gen_tcp.send(state.sock, Enum.reverse(state.out)) do
      :ok -> %{state | out: [], out_bytes: 0}
      {:error, reason} -> disconnected(state, reason)
    end
  end

  defp drop_daemon_topics(state, []), do: state
  defp drop_daemon_topics(%{sock: nil} = state, _topics), do: state

  defp drop_daemon_topics(state, topics) do
    state = %{state | added: state.added + 1}
    write(request(state, Wire.unsubscribe(state.codec, topics), :unsubscribe))
  end

  # --- what the daemon sends ----------------------------------------------

  defp split_lines(buf) do
    parts = :binary.split(buf, "\n", [:global])
    {List.delete_at(parts, -1), List.last(parts)}
  end

  defp handle_line("", state), do: state

  defp handle_line(line, state) do
    case Wire.classify(state.codec, line) do
      {:reply, ok?, reply} ->
        answered(state, ok?, reply)

      {:crm, topic, event, interaction_uuid} ->
        msg = {:crm, event, %{interaction_uuid: interaction_uuid}}
        for pid <- Subscriptions.followers(state.subs, topic), do: send(pid, msg)
        bump(state, :received)

      {:resync, reason} ->
        resync(state, reason)

      :shutdown ->
        Logger.info("crmpubsub: the daemon is shutting down")
        state

      {:unknown, what} ->
        Logger.warning("crmpubsub: ignored a line from the daemon: #{inspect(what)}")
        state
    end
  end

  defp resync(state, reason) do
    for pid <- Subscriptions.pids(state.subs), do: send(pid, {:crm_resync, reason})
    bump(state, :resyncs)
  end

  defp answered(state, ok?, reply) do
    case :queue.out(state.pending) do
      {{:value, entry}, pending} ->
        %{state | pending: pending, done: state.done + 1}
        |> settle(entry, ok?, reply)
        |> answer_waiters()

      {:empty, _} ->
        Logger.warning("crmpubsub: a reply nothing asked for: #{inspect(reply)}")
        state
    end
  end

  defp settle(state, :broadcast, true, _reply), do: bump(state, :acked)

  defp settle(state, :broadcast, false, reply) do
    Logger.warning("crmpubsub: broadcast refused: #{reply["error"]}: #{reply["message"]}")
    bump(state, :failed)
  end

  defp settle(state, {:sub, topics, call, resync?}, ok?, reply) do
    {from, calls} = Map.pop(state.calls, call)
    state = %{state | calls: calls}

    state =
      cond do
        ok? ->
          if from, do: GenServer.reply(from, :ok)
          state

        call != nil ->
          refuse_topics(state, topics, from, reply)

        true ->
          Logger.error("crmpubsub: resubscribing refused: #{reply["error"]}: #{reply["message"]}")
          state
      end

    if resync?, do: resync(state, :reconnected), else: state
  end

  defp settle(state, entry, ok?, reply) do
    unless ok?, do: Logger.warning("crmpubsub: #{entry} refused: #{reply["error"]}: #{reply["message"]}")
    state
  end

  # The daemon refused a new topic: nobody follows it any more.
  defp refuse_topics(state, topics, from, reply) do
    code = Wire.error_code(reply)
    if from, do: GenServer.reply(from, {:error, code})

    Enum.reduce(topics, state, fn topic, acc ->
      {pids, subs} = Subscriptions.drop_topic(acc.subs, topic)

      if from == nil or length(pids) > 1,
        do: Logger.warning("crmpubsub: the daemon refused #{topic} (#{code}); #{length(pids)} subscriber(s) dropped")

      %{acc | subs: subs}
    end)
  end

  defp answer_waiters(state) do
    {ready, waiting} = Enum.split_with(state.waiters, fn {_, {target, _}} -> state.done >= target end)
    for {_, {_, from}} <- ready, do: GenServer.reply(from, :ok)
    %{state | waiters: Map.new(waiting)}
  end

  defp bump(state, counter), do: %{state | stats: Map.update!(state.stats, counter, &(&1 + 1))}

  # Every callback ends here, so lines appended are written once the
  # mailbox is empty (timeout 0 fires only then).
  defp reply(%{out: []} = state, value), do: {:reply, value, state}
  defp reply(state, value), do: {:reply, value, state, 0}

  defp noreply(%{out: []} = state), do: {:noreply, state}
  defp noreply(state), do: {:noreply, state, 0}
end
