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
    if uuid?(uuid),
      do: {:ok, "crm:contact:" <> String.downcase(uuid) <> ":interactions"},
      else: :error
  end

  def canonical_topic(_), do: :error

  # What uuid_parse(3) accepts: 8-4-4-4-12 hex digits, any case.
  defp uuid?(
         <<a::binary-size(8), ?-, b::binary-size(4), ?-, c::binary-size(4), ?-, d::binary-size(4),
           ?-, e::binary-size(12)>>
       ),
       do: hex?(a) and hex?(b) and hex?(c) and hex?(d) and hex?(e)

  defp uuid?(_), do: false

  # Only hex digits.
  defp hex?(<<c, rest::binary>>) when c in ?0..?9 or c in ?a..?f or c in ?A..?F, do: hex?(rest)
  defp hex?(<<>>), do: true
  defp hex?(_), do: false

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
    null = Codec.null(codec)

    parties =
      case field(interaction, :parties) do
        list when is_list(list) ->
          Enum.map(list, &%{"contact_uuid" => nullable(party_contact(&1), null)})

        _ ->
          null
      end

    line(codec, %{
      "op" => "broadcast_interaction",
      "event" => event_name,
      "interaction" => %{
        "uuid" => nullable(field(interaction, :uuid), null),
        "contact_uuid" => nullable(field(interaction, :contact_uuid), null),
        "parties" => parties
      }
    })
  end

  # nil as the codec writes JSON null.
  defp nullable(nil, null), do: null
  defp nullable(value, _null), do: value

  @doc "The broadcast_to_contacts request."
  def broadcast_to_contacts(codec, event_name, interaction_uuid, contact_uuids) do
    line(codec, %{
      "op" => "broadcast_to_contacts",
      "event" => event_name,
      "interaction_uuid" => nullable(interaction_uuid, Codec.null(codec)),
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

  # One request line.
  defp line(codec, term), do: [Codec.encode!(codec, term), ?\n]

  @doc """
  What a line from the daemon means:
  `{:reply, ok?, map}`, `{:crm, topic, event_atom, interaction_uuid}`,
  `{:resync, reason_atom}`, `:shutdown`, or `{:unknown, map_or_reason}`.
  """
  # A crm push, by far the most frequent line, is written by the daemon in
  # one fixed layout (the three event names have seven letters), so the
  # whole line is matched, not parsed; one that differs in any byte, or
  # holds anything but a UUID, goes through the codec like every other line.
  def classify(
        codec,
        <<"{\"type\":\"crm\",\"event\":\"interaction_", event::binary-size(7), "\",\"topic\":\"",
          topic::binary-size(61), "\",\"payload\":{\"interaction_uuid\":\"", u::binary-size(36),
          "\"}}">> = line
      ) do
    with {:ok, atom} <- Map.fetch(@event_atoms, "interaction_" <> event),
         {:ok, ^topic} <- canonical_topic(topic),
         true <- uuid?(u) do
      {:crm, topic, atom, u}
    else
      _ -> classify_json(codec, line)
    end
  end

  def classify(codec, line), do: classify_json(codec, line)

  # Any line, through the codec.
  defp classify_json(codec, line) do
    case Codec.decode(codec, line) do
      {:ok, %{"ok" => ok} = reply} ->
        {:reply, ok == true, reply}

      {:ok,
       %{
         "type" => "crm",
         "event" => event,
         "topic" => topic,
         "payload" => %{"interaction_uuid" => u}
       }}
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
  def error_code(%{"error" => code}) when is_map_key(@error_atoms, code),
    do: Map.fetch!(@error_atoms, code)

  def error_code(%{"error" => code}), do: code
  def error_code(_), do: :unknown
end
