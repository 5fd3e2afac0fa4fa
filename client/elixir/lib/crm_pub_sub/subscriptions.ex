defmodule CrmPubSub.Subscriptions do
  @moduledoc false
  # The node's local subscriptions: which processes follow which canonical
  # topic. Invariant: a topic is a key of `topics` exactly when at least one
  # process follows it, and a process is a key of `pids` (with one monitor)
  # exactly when it follows at least one topic. The daemon holds one
  # subscription per key of `topics`, whatever the number of processes.
  # With a `table` (CrmPubSub.Table), every {pid, topic} pair is mirrored
  # there, so a restarted connection process finds its subscribers again.

  defstruct topics: %{}, pids: %{}, table: nil

  @type t :: %__MODULE__{
          topics: %{String.t() => MapSet.t(pid())},
          pids: %{pid() => {reference(), MapSet.t(String.t())}},
          table: :ets.tid() | atom() | nil
        }

  @doc "The subscriptions mirrored in table, monitored anew (after a restart)."
  @spec restore(:ets.tid() | atom()) :: t()
  def restore(table) do
    table
    |> :ets.tab2list()
    |> Enum.reduce(%__MODULE__{table: table}, fn {pid, topic}, acc ->
      acc |> add(topic, pid) |> elem(1)
    end)
  end

  @doc "Adds pid to topic: :new_topic, :added, or :already when it follows it."
  @spec add(t(), String.t(), pid()) :: {:new_topic | :added | :already, t()}
  def add(%__MODULE__{} = s, topic, pid) do
    followers = Map.get(s.topics, topic, MapSet.new())

    if MapSet.member?(followers, pid) do
      {:already, s}
    else
      {ref, held} = Map.get_lazy(s.pids, pid, fn -> {Process.monitor(pid), MapSet.new()} end)
      status = if MapSet.size(followers) == 0, do: :new_topic, else: :added
      if s.table, do: :ets.insert(s.table, {pid, topic})

      {status,
       %__MODULE__{
         s
         | topics: Map.put(s.topics, topic, MapSet.put(followers, pid)),
           pids: Map.put(s.pids, pid, {ref, MapSet.put(held, topic)})
       }}
    end
  end

  @doc "Removes pid from topic; returns the topics that lost their last follower."
  @spec remove(t(), String.t(), pid()) :: {[String.t()], t()}
  def remove(%__MODULE__{} = s, topic, pid) do
    case Map.fetch(s.pids, pid) do
      {:ok, {ref, held}} ->
        if MapSet.member?(held, topic) do
          if s.table, do: :ets.delete_object(s.table, {pid, topic})
          held = MapSet.delete(held, topic)
          s = put_pid(s, pid, ref, held)
          drop_follower(s, topic, pid)
        else
          {[], s}
        end

      :error ->
        {[], s}
    end
  end

  @doc "Forgets a process that exited; returns the topics that lost their last follower."
  @spec down(t(), pid()) :: {[String.t()], t()}
  def down(%__MODULE__{} = s, pid) do
    case Map.pop(s.pids, pid) do
      {nil, _} ->
        {[], s}

      {{_ref, held}, pids} ->
        if s.table, do: :ets.delete(s.table, pid)

        Enum.reduce(held, {[], %__MODULE__{s | pids: pids}}, fn topic, {emptied, acc} ->
          {e, acc} = drop_follower(acc, topic, pid)
          {e ++ emptied, acc}
        end)
    end
  end

  @doc "Drops a topic with all its followers (the daemon refused it); returns them."
  @spec drop_topic(t(), String.t()) :: {[pid()], t()}
  def drop_topic(%__MODULE__{} = s, topic) do
    followers = s |> followers(topic)

    s =
      Enum.reduce(followers, s, fn pid, acc ->
        {_, acc} = remove(acc, topic, pid)
        acc
      end)

    {followers, s}
  end

  @doc "The processes following a topic."
  @spec followers(t(), String.t()) :: [pid()]
  def followers(%__MODULE__{topics: topics}, topic),
    do: topics |> Map.get(topic, MapSet.new()) |> MapSet.to_list()

  @doc "Every process following at least one topic."
  @spec pids(t()) :: [pid()]
  def pids(%__MODULE__{pids: pids}), do: Map.keys(pids)

  @doc "Every topic followed."
  @spec topics(t()) :: [String.t()]
  def topics(%__MODULE__{topics: topics}), do: Map.keys(topics)

  # Stores what pid still follows; forgets it (and its monitor) when nothing.
  defp put_pid(s, pid, ref, held) do
    if MapSet.size(held) == 0 do
      Process.demonitor(ref, [:flush])
      %__MODULE__{s | pids: Map.delete(s.pids, pid)}
    else
      %__MODULE__{s | pids: Map.put(s.pids, pid, {ref, held})}
    end
  end

  # Removes pid from topic's followers; the topic goes with its last one.
  defp drop_follower(s, topic, pid) do
    followers = s.topics |> Map.get(topic, MapSet.new()) |> MapSet.delete(pid)

    if MapSet.size(followers) == 0,
      do: {[topic], %__MODULE__{s | topics: Map.delete(s.topics, topic)}},
      else: {[], %__MODULE__{s | topics: Map.put(s.topics, topic, followers)}}
  end
end
