defmodule CrmPubSub.Mailbox do
  @moduledoc false
  # The broadcasting processes' side of the connection process's mailbox:
  # how a broadcast line is handed over without waiting for the daemon, and
  # what bounds that mailbox. The connection process publishes what callers
  # need (counters, codec, bounds) in a persistent term when it starts.

  alias CrmPubSub.Counters

  @key {CrmPubSub, :client}

  @doc "Publishes what callers need; done by each new connection process."
  def publish(counters, codec, max_mailbox, broadcast_wait),
    do: :persistent_term.put(@key, {counters, codec, max_mailbox, broadcast_wait})

  @doc "What callers need: {counters, codec, mailbox bound, wait bound}, or nil."
  def shared, do: :persistent_term.get(@key, nil)

  @doc "Counts a broadcast a caller rejected (bad arguments)."
  def count_rejected({ref, _, _, _}), do: Counters.add(ref, :rejected)
  def count_rejected(nil), do: :ok

  @doc """
  Whether a broadcast would only be dropped (the queue is full): then it
  is counted, dropped, and nothing else is done.
  """
  def drop_now?({ref, _, _, _}) do
    Counters.get(ref, :full) == 1 and Counters.add(ref, :broadcasts) == :ok and
      Counters.add(ref, :dropped) == :ok
  end

  @doc """
  Hands a broadcast line to the connection process: a cast while its
  mailbox holds fewer than `max_mailbox` broadcasts; beyond, a call that
  waits at most `broadcast_wait` ms for the process to reach it (so a
  burst is paced, not dropped). After such a wait in vain, callers drop
  at once until the process has caught up (it is stuck, e.g. on a stalled
  daemon): a broadcast never costs more than one bounded wait.
  """
  def submit({ref, _codec, limit, wait}, line) do
    Counters.add(ref, :broadcasts)

    cond do
      Counters.add_get(ref, :in_mailbox) <= limit ->
        GenServer.cast(CrmPubSub, {:broadcast, line})

      Counters.get(ref, :stalled) == 1 ->
        Counters.add(ref, :in_mailbox, -1)
        Counters.add(ref, :dropped)

      true ->
        wait_for_room(ref, line, wait)
    end

    :ok
  end

  # The paced hand-over: a call bounded by wait.
  defp wait_for_room(ref, line, wait) do
    GenServer.call(CrmPubSub, {:broadcast, line}, wait)
  catch
    # Still in the mailbox: it will be sent; later callers stop waiting.
    :exit, {:timeout, _} ->
      Counters.put(ref, :stalled, 1)

    :exit, _ ->
      Counters.add(ref, :in_mailbox, -1)
      Counters.add(ref, :dropped)
  end

  @doc """
  The connection process took a broadcast out of its mailbox; callers stop
  dropping once it is half empty again.
  """
  def taken(ref, max_mailbox) do
    left = Counters.add_get(ref, :in_mailbox, -1)

    if left <= div(max_mailbox, 2) and Counters.get(ref, :stalled) == 1,
      do: Counters.put(ref, :stalled, 0)

    :ok
  end
end
