defmodule CrmPubSub.Counters do
  @moduledoc false
  # The client's counters, in one atomics array shared by the connection
  # process and the processes that broadcast: callers count what they drop
  # or reject without a message, read the `full` flag to drop without
  # encoding while the connection's queue is full, and the `stalled` flag to
  # drop without waiting while the connection process is not keeping up.

  @names [
    :in_mailbox,
    :full,
    :stalled,
    :broadcasts,
    :acked,
    :failed,
    :rejected,
    :dropped,
    :lost,
    :received,
    :resyncs,
    :connects
  ]

  # The slot of each name, resolved at compile time.
  for {name, i} <- Enum.with_index(@names, 1) do
    defp slot(unquote(name)), do: unquote(i)
  end

  @doc "A new zeroed array."
  def new, do: :atomics.new(length(@names), signed: true)

  @doc "Adds n to a counter; returns :ok."
  def add(ref, name, n \\ 1), do: :atomics.add(ref, slot(name), n)

  @doc "Adds n to a counter and returns the new value."
  def add_get(ref, name, n \\ 1), do: :atomics.add_get(ref, slot(name), n)

  @doc "Sets a counter (the `full` flag)."
  def put(ref, name, value), do: :atomics.put(ref, slot(name), value)

  @doc "One counter's value."
  def get(ref, name), do: :atomics.get(ref, slot(name))

  @doc "Every counter meant for stats/0 (the mailbox gauge and the flags left out)."
  def snapshot(ref), do: Map.new(@names -- [:in_mailbox, :full, :stalled], &{&1, get(ref, &1)})
end
