defmodule CrmPubSub.Wire do
  @moduledoc false
  # The protocol's vocabulary (docs/protocol.md): topic names, events, the
  # request lines this client sends and the meaning of the lines it reads.
  # JSON itself is the codec's job; this module only shapes the terms.

  alias CrmPubSub.Codec

  @events %{
    interaction_created: "interaction_created",
    interaction_updated: "interaction_updated",
    interaction_deleted: "interaction_deleted"
  }
  @event_atoms Map.new(@events, fn {atom, name} -> {name, atom} end)

  @resync_reasons %{"lagged" => :lagged, "federation" => :federation}

  @error_codes ~w(bad_json bad_request unknown_op bad_topic bad_uuid bad_event
                  too_many line_too_long forbidden internal)
  @error_atoms Map.new(@error_codes, &{&1, String.to_atom(&1)})

  @doc "The wire name of an event given as one of the three atoms (or their names)."
  @spec event_name(term()) :: {:ok, String.t()} | :error
  def event_name(event) when is_atom(event), do: Map.fetch(@events, event)
  def event_name(event) when is_binary(event), do: event_name(Map.get(@event_atoms, event))
  def event_name(_), do: :error

  @doc "The canonical (lowercase) name of a valid topic, the daemon's rule."
  @spec canonical_topic(term()) :: {:ok, String.t()} | :error
  def canonical_topic(<<"crm:contact:", uuid::binary-size(36), ":interactions">>) do
    if uuid?(uuid), do: {:ok, "crm:contact:" <> String.downcase(uuid) <> ":interactions"}, else: :error
  end

  def canonical_topic(_), do: :error

  # What uuid_parse(3) accepts: 8-4-4-4-12 hex digits, any case.
  defp uuid?(<<a::binary-size(8), ?-, b::binary-size(4), ?-, c::binary-size(4), ?-,
               d::binary-size(4), ?-, e::binary-size(12)>>),
       do: Enum.all?([a, b, c, d, e], &hex?/1)

  defp uuid?(_), do: false

  defp hex?(s), do: s |> :binary.bin_to_list() |> Enum.all?(&(&1 in ?0..?9 or &1 in ?a..?f or &1 in ?A..?F))

  @doc "The hello request naming this client."
  def hello(codec, name), do: line(codec, %{"op" => "hello", "name" => name})

  @doc "A subscribe request for canonical topics."
  def subscribe(codec, topics), do: line(codec, %{"op" => "subscribe", "topics" => topics})

  @doc "An unsubscribe request for canonical topics."
  def unsubscribe(codec, topics), do: line(codec, %{"op" => "unsubscribe", "topics" => topics})

  @doc """
  The broadcast_interaction request: the interaction reduced to the fields
  the daemon reads. Parties that are not a list (not loaded) are sent as
  null, which the daemon reads as "no parties".
  """
  def broadcast_interaction(codec, event_name, interaction) do
    parties =
      case field(interaction, :parties) do
        list when is_list(list) -> Enum.map(list, &%{"contact_uuid" => party_contact(&1)})
        _ -> nil
      end

    line(codec, %{
      "op" => "broadcast_interaction",
      "event" => event_name,
      "interaction" => %{
        "uuid" => field(interaction, :uuid),
        "contact_uuid" => field(interaction, :contact_uuid),
        "parties" => parties
      }
    })
  end

  @doc "The broadcast_to_contacts request."
  def broadcast_to_contacts(codec, event_name, interaction_uuid, contact_uuids) do
    line(codec, %{
      "op" => "broadcast_to_contacts",
      "event" => event_name,
      "interaction_uuid" => interaction_uuid,
      "contact_uuids" => contact_uuids
    })
  end

  @doc "A field of a struct or a map with atom or string keys; nil when absent."
  def field(map, key) when is_map(map) do
    case Map.fetch(map, key) do
      {:ok, value} -> value
      :error -> Map.get(map, Atom.to_string(key))
    end
  end

  @doc "A party's contact: nil when unresolved or when the party is not a map."
  def party_contact(party) when is_map(party), do: field(party, :contact_uuid)
  def party_contact(_), do: nil

  defp line(codec, term), do: [Codec.encode!(codec, term), ?\n]

  @doc """
  What a line from the daemon means:
  `{:reply, ok?, map}`, `{:crm, topic, event_atom, interaction_uuid}`,
  `{:resync, reason_atom}`, `:shutdown`, or `{:unknown, map_or_reason}`.
  """
  def classify(codec, line) do
    case Codec.decode(codec, line) do
      {:ok, %{"ok" => ok} = reply} ->
        {:reply, ok == true, reply}

      {:ok, %{"type" => "crm", "event" => event, "topic" => topic, "payload" => %{"interaction_uuid" => u}}}
      when is_map_key(@event_atoms, event) ->
        {:crm, topic, Map.fetch!(@event_atoms, event), u}

      {:ok, %{"type" => "resync"} = push} ->
        {:resync, Map.get(@resync_reasons, push["reason"], :unknown)}

      {:ok, %{"type" => "shutdown"}} ->
        :shutdown

      {:ok, other} ->
        {:unknown, other}

      {:error, reason} ->
        {:unknown, {:bad_json, reason}}
    end
  end

  @doc "An error code of a reply as an atom (the string when the code is new)."
  def error_code(%{"error" => code}) when is_map_key(@error_atoms, code), do: Map.fetch!(@error_atoms, code)
  def error_code(%{"error" => code}), do: code
  def error_code(_), do: :unknown
end
