defmodule CrmPubSub do
  @moduledoc """
  Real-time updates for CRM interactions through crmpubsubd, with the API of
  `PhoenixKitCRM.PubSub` (v0.2.4): an application swaps the module alias and
  nothing else changes.

  An interaction appears in the feed of every contact it involves — the
  subject contact (`contact_uuid`) and every resolved party contact — so a
  change fans out to each of their per-contact topics
  `crm:contact:<uuid>:interactions`. A subscriber receives

      {:crm, :interaction_created | :interaction_updated | :interaction_deleted,
       %{interaction_uuid: uuid}}

  and, whenever pushes may have been lost (the daemon restarted, this node
  read too slowly, a federation link was down),

      {:crm_resync, :reconnected | :lagged | :federation | :unknown}

  after which it refetches every feed it shows.

  Start one connection per node in your supervision tree:

      children = [{CrmPubSub, socket: nil}]   # nil: the default socket resolution

  Options: `:socket` (a path; nil resolves as `CrmPubSub.SocketPath`
  describes), `:codec` (see `CrmPubSub.Codec`), `:client_name` (shown by the
  daemon's `clients` op), `:max_queue_bytes` (broadcasts kept while the
  daemon is away, default 1 MiB), `:max_mailbox` (broadcasts waiting for
  the connection process before callers are paced, default 1000),
  `:broadcast_wait` (the longest a broadcast waits for room, default 50 ms),
  `:reconnect_min` and
  `:reconnect_max` (back-off bounds in ms, default 100 and 5000),
  `:request_timeout` (how long `subscribe/1` waits for the daemon, default
  2000 ms).

  Broadcasts never raise and never wait for the daemon; what became of them
  is counted in `stats/0` and failures are logged through `Logger`.
  """

  require Logger
  alias CrmPubSub.{Connection, Mailbox, Wire}

  @call_timeout 5_000

  @doc false
  def child_spec(opts) do
    %{id: __MODULE__, start: {__MODULE__, :start_link, [opts]}, type: :supervisor}
  end

  @doc """
  Starts the node's client (what the child spec does): the table of
  subscribers and the connection process, under one supervisor.
  """
  @spec start_link(keyword()) :: Supervisor.on_start()
  def start_link(opts \\ []) do
    children = [CrmPubSub.Table, {Connection, opts}]
    Supervisor.start_link(children, strategy: :rest_for_one, name: CrmPubSub.Supervisor)
  end

  @doc "Topic for the interaction feed of a single contact (as subject or party)."
  @spec topic_contact_interactions(binary()) :: String.t()
  def topic_contact_interactions(contact_uuid), do: "crm:contact:#{contact_uuid}:interactions"

  @doc """
  Subscribes the calling process to a topic.

  `:ok` once the daemon confirmed, or when the daemon is unreachable or slow
  to answer: the topic is then held, subscribed on (re)connection, and a
  `{:crm_resync, :reconnected}` follows. `{:error, :bad_topic}` for a string
  that is not a topic, `{:error, code}` when the daemon refuses it (e.g.
  `:too_many`), `{:error, :not_started}` when no `CrmPubSub` runs.
  Subscribing again to a topic already followed changes nothing.
  """
  @spec subscribe(String.t()) :: :ok | {:error, term()}
  def subscribe(topic) when is_binary(topic),
    do: call({:subscribe, topic}, {:error, :not_started}, {:error, :timeout})

  @doc "Unsubscribes the calling process from a topic."
  @spec unsubscribe(String.t()) :: :ok
  def unsubscribe(topic) when is_binary(topic), do: call({:unsubscribe, topic}, :ok, :ok)

  @doc """
  Fans an interaction change out to every involved contact's feed topic.

  `interaction` is a struct or map with `uuid`, `contact_uuid` and `parties`
  (each party with a `contact_uuid`); parties that are not a list (not
  loaded) count as none. Best-effort: always returns `:ok`, never raises,
  never waits for the daemon. Call it after the database commit.
  """
  @spec broadcast_interaction(atom(), map()) :: :ok
  def broadcast_interaction(event, interaction) do
    with {:ok, name} <- Wire.event_name(event),
         true <- is_map(interaction) || {:not_map, interaction} do
      submit(&Wire.broadcast_interaction(&1, name, interaction))
    else
      error -> rejected(:broadcast_interaction, event, error)
    end
  catch
    kind, reason -> rejected(:broadcast_interaction, event, {:caught, kind, reason})
  end

  @doc """
  Broadcasts an interaction change to an explicit set of contact feed topics
  (an edit sends the union of the contacts involved before and after).
  `nil`s and duplicates are dropped. Best-effort like `broadcast_interaction/2`.
  """
  @spec broadcast_to_contacts(atom(), binary(), [binary()]) :: :ok
  def broadcast_to_contacts(event, interaction_uuid, contact_uuids) do
    case Wire.event_name(event) do
      {:ok, name} ->
        contacts = contact_uuids |> Enum.reject(&is_nil/1) |> Enum.uniq()
        submit(&Wire.broadcast_to_contacts(&1, name, interaction_uuid, contacts))

      error ->
        rejected(:broadcast_to_contacts, event, error)
    end
  catch
    kind, reason -> rejected(:broadcast_to_contacts, event, {:caught, kind, reason})
  end

  @doc """
  Subject contact + every resolved party contact, `nil`s dropped,
  duplicates (compared in lowercase, as the daemon does) dropped keeping the
  first. Parties that are not a list (e.g. `Ecto.Association.NotLoaded`)
  count as none. Exactly the feeds `broadcast_interaction/2` reaches.
  """
  @spec involved_contact_uuids(map()) :: [binary()]
  def involved_contact_uuids(interaction) when is_map(interaction) do
    parties =
      case Wire.field(interaction, :parties) do
        list when is_list(list) -> Enum.map(list, &Wire.party_contact/1)
        _ -> []
      end

    [Wire.field(interaction, :contact_uuid) | parties]
    |> Enum.reject(&is_nil/1)
    |> Enum.uniq_by(fn u -> if is_binary(u), do: String.downcase(u), else: u end)
  end

  @doc """
  Waits until the daemon has answered every request made before the call
  (or the connection carrying it broke). `:ok` or `{:error, :timeout}`.
  """
  @spec flush(timeout()) :: :ok | {:error, :timeout | :not_started}
  def flush(timeout \\ @call_timeout) do
    GenServer.call(__MODULE__, {:flush, timeout}, timeout + @call_timeout)
  catch
    :exit, _ -> {:error, :not_started}
  end

  @doc """
  Counters since start: `broadcasts` (valid broadcast calls) =
  `acked` + `failed` (the daemon refused it) + `dropped` (queue or mailbox
  full) + `lost` (in flight when a connection broke) + `pending`;
  `rejected` (bad arguments, never sent), `received` pushes, `resyncs`,
  `connects`; and now: `connected`, `socket`, `topics`, `subscribers`.
  """
  @spec stats() :: map()
  def stats, do: GenServer.call(__MODULE__, :stats, @call_timeout)

  # A call to the connection process; its absence or silence is an answer,
  # never an exit in the caller.
  defp call(request, when_down, when_silent) do
    GenServer.call(__MODULE__, request, @call_timeout)
  catch
    :exit, {:timeout, _} -> when_silent
    :exit, _ -> when_down
  end

  # Encodes in the calling process (so the connection process only moves
  # lines), unless the line could only be dropped.
  defp submit(build) do
    case Mailbox.shared() do
      nil ->
        not_started()

      {_ref, codec, _limit, _wait} = shared ->
        if Mailbox.drop_now?(shared), do: :ok, else: Mailbox.submit(shared, build.(codec))
    end
  end

  # A broadcast not sent for its arguments: counted and logged, never raised.
  defp rejected(function, event, error) do
    Mailbox.count_rejected(Mailbox.shared())

    reason =
      case error do
        :error ->
          "event must be :interaction_created, :interaction_updated or :interaction_deleted"

        {:not_map, value} ->
          "interaction is not a map: #{inspect(value)}"

        {:caught, kind, reason} ->
          Exception.format_banner(kind, reason)
      end

    Logger.warning("crmpubsub: #{function}(#{inspect(event)}, ...) not sent: #{reason}")
    :ok
  end

  # Logged once per node: a broadcast without a running client is a
  # configuration mistake, not something to repeat for every call.
  defp not_started do
    unless :persistent_term.get({__MODULE__, :warned}, false) do
      :persistent_term.put({__MODULE__, :warned}, true)

      Logger.warning(
        "crmpubsub: broadcast before CrmPubSub was started; add {CrmPubSub, socket: nil} to your supervision tree"
      )
    end

    :ok
  end
end
