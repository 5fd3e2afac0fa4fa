defmodule CrmPubSub.Case do
  @moduledoc """
  Each test gets its own real daemon (tag `daemon_args: [...]` adds
  options) and, unless tagged `client: false`, a `CrmPubSub` connected to
  it (tag `client_opts: [...]` adds options). Helpers name test UUIDs and
  read the next message of a kind, every wait bounded.
  """

  use ExUnit.CaseTemplate

  alias CrmPubSub.TestDaemon

  using do
    quote do
      import CrmPubSub.Case
      alias CrmPubSub.{TestConn, TestDaemon}
    end
  end

  setup tags do
    daemon = start_supervised!({TestDaemon, args: Map.get(tags, :daemon_args, [])})
    socket = TestDaemon.socket(daemon)

    if Map.get(tags, :client, true) do
      opts =
        [socket: socket, reconnect_min: 20, reconnect_max: 200] ++ Map.get(tags, :client_opts, [])

      start_supervised!({CrmPubSub, opts})
    end

    %{daemon: daemon, socket: socket}
  end

  @doc "Deterministic test UUIDs: 0190a5b2-7c1e-7a01-8f00-<12 hex digits of n>."
  def uuid(n),
    do:
      ("0190a5b2-7c1e-7a01-8f00-" <> String.pad_leading(Integer.to_string(n, 16), 12, "0"))
      |> String.downcase()

  @doc "The feed topic of uuid(n)."
  def topic(n), do: CrmPubSub.topic_contact_interactions(uuid(n))

  @doc "The next {:crm, ...} message of this process: nothing else of that kind may come first."
  def next_crm(timeout \\ 5_000) do
    receive do
      {:crm, _, _} = msg -> msg
    after
      timeout -> ExUnit.Assertions.flunk("no {:crm, ...} message within #{timeout} ms")
    end
  end

  @doc """
  Proves that nothing more is on its way to this process for contact n:
  a marker broadcast to that contact must be the next push received, since
  the daemon delivers in order.
  """
  def assert_nothing_before_marker(n, marker \\ 0xFFFF) do
    CrmPubSub.broadcast_to_contacts(:interaction_deleted, uuid(marker), [uuid(n)])

    ExUnit.Assertions.assert(
      next_crm() == {:crm, :interaction_deleted, %{interaction_uuid: uuid(marker)}}
    )
  end

  @doc """
  A linked process subscribed to one topic or a list, that sends its first
  {:crm, ...} to the test as {:got, pid, message} and ends; returns its
  pid once it is subscribed.
  """
  def spawn_subscriber(topics) do
    parent = self()

    pid =
      spawn_link(fn ->
        for t <- List.wrap(topics), do: :ok = CrmPubSub.subscribe(t)
        send(parent, {:subscribed, self()})
        send(parent, {:got, self(), next_crm()})
      end)

    receive do
      {:subscribed, ^pid} -> pid
    after
      5_000 -> ExUnit.Assertions.flunk("the subscriber did not subscribe")
    end
  end

  @doc "Runs fun in a process and waits (bounded) for its result: the call must not hang."
  def within(ms, fun) do
    task = Task.async(fun)

    case Task.yield(task, ms) || Task.shutdown(task, :brutal_kill) do
      {:ok, result} -> result
      _ -> ExUnit.Assertions.flunk("did not return within #{ms} ms")
    end
  end
end
