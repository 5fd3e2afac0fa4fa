defmodule CrmPubSub.Connection do
  @moduledoc false
  # The node's one connection to crmpubsubd. It owns the socket, the local
  # subscription table and the queue of broadcasts, and is the only process
  # that writes to or reads from the daemon.
  #
  # Invariants:
  # - `pending` lists, in write order, the requests written (or appended to
  #   `out`) on the current socket and not answered yet; replies come in
  #   that order, so its head is what the next reply answers.
  # - At most `max_in_flight` broadcasts are pending: the daemon never holds
  #   more unread replies for us than that (it closes a peer whose unread
  #   output passes twice max_outbuf). Subscribe and unsubscribe requests
  #   are never held back.
  # - `queue` holds broadcasts waiting for the connection or for room in the
  #   window, oldest first, at most `max_queue_bytes`; while it is not
  #   empty, new broadcasts join it (call order is kept).
  # - `out` holds appended lines (newest first); it is written when the
  #   mailbox is empty (GenServer timeout 0), when it passes
  #   `coalesce_bytes`, and before a subscribe, an unsubscribe or a flush.
  # - `done <= added`: requests made; each is eventually answered, dropped,
  #   or counted lost when its connection breaks.

  use GenServer
  require Logger

  alias CrmPubSub.{Codec, Counters, Mailbox, SocketPath, Subscriptions, Wire}

  @resubscribe_batch 100
  @max_buffer 16 * 1024 * 1024

  @defaults [
    socket: nil,
    codec: nil,
    client_name: nil,
    max_queue_bytes: 1024 * 1024,
    max_mailbox: 1_000,
    broadcast_wait: 50,
    max_in_flight: 4096,
    coalesce_bytes: 16 * 1024,
    request_timeout: 2_000,
    connect_timeout: 1_000,
    send_timeout: 5_000,
    reconnect_min: 100,
    reconnect_max: 5_000
  ]

  # Registered as CrmPubSub: the public functions find it by that name.
  def start_link(opts) do
    GenServer.start_link(__MODULE__, opts, name: CrmPubSub)
  end

  @impl true
  def init(opts) do
    opts = Keyword.merge(@defaults, opts)
    codec = Codec.resolve(opts[:codec])
    ref = Counters.new()
    Mailbox.publish(ref, codec, opts[:max_mailbox], opts[:broadcast_wait])

    state = %{
      opts: Map.new(opts),
      name: opts[:client_name] || "elixir #{node()}",
      codec: codec,
      counters: ref,
      sock: nil,
      path: nil,
      buf: "",
      out: [],
      out_bytes: 0,
      queue: :queue.new(),
      queue_bytes: 0,
      pending: :queue.new(),
      in_flight: 0,
      subs: Subscriptions.restore(CrmPubSub.Table),
      calls: %{},
      waiters: %{},
      added: 0,
      done: 0,
      backoff: 0,
      warned: false
    }

    {:ok, state, {:continue, :connect}}
  end

  @impl true
  def handle_continue(:connect, state), do: noreply(connect(state))

  # A broadcast line from a caller: cast normally, a call when the caller
  # is being paced (CrmPubSub.Mailbox).
  @impl true
  def handle_cast({:broadcast, line}, state), do: noreply(took_broadcast(state, line))

  @impl true
  def handle_call({:broadcast, line}, _from, state), do: reply(took_broadcast(state, line), :ok)

  # A new topic is answered when the daemon confirms it (or after
  # request_timeout, or at once while disconnected: held); a topic the
  # caller or another local process already follows, at once.
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

  # The daemon is told only when the last local follower leaves.
  def handle_call({:unsubscribe, topic}, {pid, _}, state) do
    case Wire.canonical_topic(topic) do
      {:ok, canon} ->
        {emptied, subs} = Subscriptions.remove(state.subs, canon, pid)
        reply(drop_daemon_topics(%{state | subs: subs}, emptied), :ok)

      :error ->
        reply(state, :ok)
    end
  end

  # Answered once every request made so far is answered or lost.
  def handle_call({:flush, timeout}, from, state) do
    if state.done >= state.added do
      reply(state, :ok)
    else
      wait = make_ref()
      Process.send_after(self(), {:flush_timeout, wait}, timeout)
      noreply(write(%{state | waiters: Map.put(state.waiters, wait, {state.added, from})}))
    end
  end

  # The counters plus the state of the moment.
  def handle_call(:stats, _from, state) do
    counts = Counters.snapshot(state.counters)

    stats =
      Map.merge(counts, %{
        pending: counts.broadcasts - counts.acked - counts.failed - counts.dropped - counts.lost,
        connected: state.sock != nil,
        socket: state.path,
        topics: length(Subscriptions.topics(state.subs)),
        subscribers: length(Subscriptions.pids(state.subs))
      })

    reply(state, stats)
  end

  # Data from the daemon; a line that never ends is a broken peer.
  @impl true
  def handle_info({:tcp, sock, data}, %{sock: sock} = state) do
    state = read_lines(%{state | buf: ""}, state.buf <> data)

    if byte_size(state.buf) > @max_buffer,
      do: noreply(disconnected(state, :line_too_long)),
      else: noreply(pump(state))
  end

  # The 32 reads are handled: read on.
  def handle_info({:tcp_passive, sock}, %{sock: sock} = state) do
    :inet.setopts(sock, active: 32)
    noreply(state)
  end

  def handle_info({:tcp_closed, sock}, %{sock: sock} = state),
    do: noreply(disconnected(state, :closed))

  def handle_info({:tcp_error, sock, reason}, %{sock: sock} = state),
    do: noreply(disconnected(state, reason))

  # The mailbox is empty: write what was appended.
  def handle_info(:timeout, state), do: noreply(write(state))

  def handle_info(:reconnect, %{sock: nil} = state), do: noreply(connect(state))

  # A subscriber ended: it follows nothing any more.
  def handle_info({:DOWN, _ref, :process, pid, _reason}, state) do
    {emptied, subs} = Subscriptions.down(state.subs, pid)
    noreply(drop_daemon_topics(%{state | subs: subs}, emptied))
  end

  # The daemon has not confirmed a subscribe in time: the topic is held.
  def handle_info({:call_timeout, call}, state) do
    {from, calls} = Map.pop(state.calls, call)
    if from, do: GenServer.reply(from, :ok)
    noreply(%{state | calls: calls})
  end

  # A flush that waited its whole timeout.
  def handle_info({:flush_timeout, wait}, state) do
    {waiter, waiters} = Map.pop(state.waiters, wait)
    with {_, from} <- waiter, do: GenServer.reply(from, {:error, :timeout})
    noreply(%{state | waiters: waiters})
  end

  # A message for a socket already closed, or a stale timer.
  def handle_info(_other, state), do: noreply(state)

  # Closes the socket (when stopped while trapping exits; else the port
  # closes with the process).
  @impl true
  def terminate(_reason, state) do
    if state.sock, do: :gen_tcp.close(state.sock)
  end

  # --- connection --------------------------------------------------------

  # One connection attempt to the path resolved now; else another later.
  defp connect(state) do
    path = SocketPath.resolve(state.opts.socket)

    # Up to 32 reads of up to 256 KiB in the mailbox before the socket goes
    # passive: the mailbox stays bounded, and the daemon, not this node,
    # decides when it lags (its resync tells the subscribers).
    opts = [
      :local,
      :binary,
      active: 32,
      buffer: 256 * 1024,
      recbuf: 256 * 1024,
      send_timeout: state.opts.send_timeout,
      send_timeout_close: true
    ]

    case :gen_tcp.connect({:local, path}, 0, opts, state.opts.connect_timeout) do
      {:ok, sock} ->
        if state.warned, do: Logger.info("crmpubsub: connected to #{path}")
        connected(%{state | sock: sock, path: path, backoff: 0, warned: false})

      {:error, reason} ->
        unless state.warned,
          do:
            Logger.warning(
              "crmpubsub: cannot reach the daemon at #{path} (#{inspect(reason)}), retrying"
            )

        reconnect_later(%{state | path: path, warned: true})
    end
  end

  # Greets the daemon, subscribes again to every topic held (the last batch
  # triggers the resync), then sends what waited in the queue.
  defp connected(state) do
    Counters.add(state.counters, :connects)

    state =
      request(%{state | added: state.added + 1}, Wire.hello(state.codec, state.name), :hello)

    batches = state.subs |> Subscriptions.topics() |> Enum.chunk_every(@resubscribe_batch)
    last = length(batches)

    batches
    |> Enum.with_index(1)
    |> Enum.reduce(state, fn {topics, i}, acc ->
      acc = %{acc | added: acc.added + 1}
      request(acc, Wire.subscribe(acc.codec, topics), {:sub, topics, nil, i == last})
    end)
    |> pump()
    |> write()
  end

  # The next attempt: at once after a loss, then reconnect_min doubling up
  # to reconnect_max, each delay drawn from its upper half (jitter).
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
    Counters.add(state.counters, :lost, Enum.count(entries, &(&1 == :broadcast)))

    for {:sub, _, call, _} <- entries,
        Map.has_key?(state.calls, call),
        do: GenServer.reply(state.calls[call], :ok)

    %{
      state
      | sock: nil,
        buf: "",
        out: [],
        out_bytes: 0,
        pending: :queue.new(),
        in_flight: 0,
        calls: %{},
        done: state.done + length(entries)
    }
    |> answer_waiters()
    |> reconnect_later()
  end

  # --- requests ----------------------------------------------------------

  # A broadcast taken from the mailbox, counted as a request.
  defp took_broadcast(state, line) do
    Mailbox.taken(state.counters, state.opts.max_mailbox)
    broadcast(%{state | added: state.added + 1}, line)
  end

  # Straight out when connected with room and nothing queued before it;
  # else to the back of the queue while it has room; else dropped.
  defp broadcast(state, line) do
    if state.sock && state.in_flight < state.opts.max_in_flight && state.queue_bytes == 0 do
      state = request(state, line, :broadcast)
      if state.out_bytes >= state.opts.coalesce_bytes, do: write(state), else: state
    else
      enqueue(state, line)
    end
  end

  # Queued while there is room; else dropped, and callers told to drop
  # without encoding until the queue moves again.
  defp enqueue(state, line) do
    size = :erlang.iolist_size(line)

    if state.queue_bytes + size <= state.opts.max_queue_bytes do
      %{
        state
        | queue: :queue.in({line, size}, state.queue),
          queue_bytes: state.queue_bytes + size
      }
    else
      Counters.add(state.counters, :dropped)
      Counters.put(state.counters, :full, 1)
      answer_waiters(%{state | done: state.done + 1})
    end
  end

  # Moves queued broadcasts into the window while it has room.
  defp pump(%{sock: nil} = state), do: state

  defp pump(state) do
    if state.in_flight < state.opts.max_in_flight do
      case :queue.out(state.queue) do
        {{:value, {line, size}}, queue} ->
          Counters.put(state.counters, :full, 0)

          %{state | queue: queue, queue_bytes: state.queue_bytes - size}
          |> request(line, :broadcast)
          |> pump()

        {:empty, _} ->
          state
      end
    else
      state
    end
  end

  # Appends a request line and what its reply will answer.
  defp request(state, line, entry) do
    %{
      state
      | out: [line | state.out],
        out_bytes: state.out_bytes + :erlang.iolist_size(line),
        pending: :queue.in(entry, state.pending),
        in_flight: if(entry == :broadcast, do: state.in_flight + 1, else: state.in_flight)
    }
  end

  # Writes every appended line in one send.
  defp write(%{out: []} = state), do: state
  defp write(%{sock: nil} = state), do: state

  defp write(state) do
    case :gen_tcp.send(state.sock, Enum.reverse(state.out)) do
      :ok -> %{state | out: [], out_bytes: 0}
      {:error, reason} -> disconnected(state, reason)
    end
  end

  # Unsubscribes the daemon from topics no local process follows.
  defp drop_daemon_topics(state, []), do: state
  defp drop_daemon_topics(%{sock: nil} = state, _topics), do: state

  defp drop_daemon_topics(state, topics) do
    state = %{state | added: state.added + 1}
    write(request(state, Wire.unsubscribe(state.codec, topics), :unsubscribe))
  end

  # --- what the daemon sends ----------------------------------------------

  # Handles every complete line of data; the rest waits in `buf`.
  defp read_lines(state, data) do
    case :binary.split(data, "\n") do
      [line, rest] -> state |> handle_line(line) |> read_lines(rest)
      [partial] -> %{state | buf: partial}
    end
  end

  # One line from the daemon: a reply, a push, or something to log.
  defp handle_line(state, ""), do: state

  defp handle_line(state, line) do
    case Wire.classify(state.codec, line) do
      {:reply, ok?, reply} ->
        answered(state, ok?, reply)

      {:crm, topic, event, interaction_uuid} ->
        msg = {:crm, event, %{interaction_uuid: interaction_uuid}}
        for pid <- Subscriptions.followers(state.subs, topic), do: send(pid, msg)
        Counters.add(state.counters, :received)
        state

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

  # Tells every subscriber process of the node to refetch.
  defp resync(state, reason) do
    for pid <- Subscriptions.pids(state.subs), do: send(pid, {:crm_resync, reason})
    Counters.add(state.counters, :resyncs)
    state
  end

  # A reply answers the oldest pending request.
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

  # What a reply means for the request it answers.
  defp settle(state, :broadcast, ok?, reply) do
    if ok? do
      Counters.add(state.counters, :acked)
    else
      Logger.warning("crmpubsub: broadcast refused: #{reply["error"]}: #{reply["message"]}")
      Counters.add(state.counters, :failed)
    end

    %{state | in_flight: state.in_flight - 1}
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
    unless ok?,
      do: Logger.warning("crmpubsub: #{entry} refused: #{reply["error"]}: #{reply["message"]}")

    state
  end

  # The daemon refused a new topic: nobody follows it any more.
  defp refuse_topics(state, topics, from, reply) do
    code = Wire.error_code(reply)
    if from, do: GenServer.reply(from, {:error, code})

    Enum.reduce(topics, state, fn topic, acc ->
      {pids, subs} = Subscriptions.drop_topic(acc.subs, topic)

      if from == nil or length(pids) > 1,
        do:
          Logger.warning(
            "crmpubsub: the daemon refused #{topic} (#{code}); #{length(pids)} subscriber(s) dropped"
          )

      %{acc | subs: subs}
    end)
  end

  # Answers the flushes whose requests are all done.
  defp answer_waiters(%{waiters: waiters} = state) when map_size(waiters) == 0, do: state

  defp answer_waiters(state) do
    {ready, waiting} =
      Enum.split_with(state.waiters, fn {_, {target, _}} -> state.done >= target end)

    for {_, {_, from}} <- ready, do: GenServer.reply(from, :ok)
    %{state | waiters: Map.new(waiting)}
  end

  # Every callback ends here, so lines appended are written once the
  # mailbox is empty (timeout 0 fires only then).
  defp reply(%{out: []} = state, value), do: {:reply, value, state}
  defp reply(state, value), do: {:reply, value, state, 0}

  defp noreply(%{out: []} = state), do: {:noreply, state}
  defp noreply(state), do: {:noreply, state, 0}
end
