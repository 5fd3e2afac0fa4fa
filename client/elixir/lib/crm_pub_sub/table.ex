defmodule CrmPubSub.Table do
  @moduledoc false
  # Owns the ETS table mirroring the node's {subscriber pid, topic} pairs.
  # It outlives the connection process (they run under one rest_for_one
  # supervisor, this one first), so a connection process that crashes and
  # is restarted finds every subscriber, subscribes again and tells each
  # one to resync instead of leaving it silently deaf.

  use GenServer

  def start_link(_opts), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)

  @impl true
  def init(nil) do
    :ets.new(__MODULE__, [:bag, :public, :named_table])
    {:ok, nil}
  end
end
