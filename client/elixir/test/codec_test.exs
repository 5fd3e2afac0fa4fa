defmodule CrmPubSub.CodecTest do
  # The :codec option: a module with Jason's encode!/1 and decode/1 (here
  # jiffy behind that interface, since this build has neither Jason nor
  # Elixir's JSON), and a codec that cannot be used.
  use CrmPubSub.Case, async: false

  defmodule JasonLike do
    def encode!(term), do: :jiffy.encode(nulls(term))
    def decode(text), do: {:ok, :jiffy.decode(text, [:return_maps, {:null_term, nil}])}

    defp nulls(nil), do: :null
    defp nulls(map) when is_map(map), do: Map.new(map, fn {k, v} -> {k, nulls(v)} end)
    defp nulls(list) when is_list(list), do: Enum.map(list, &nulls/1)
    defp nulls(other), do: other
  end

  @tag client_opts: [codec: JasonLike]
  test "a module codec carries every request and push" do
    assert elem(CrmPubSub.Mailbox.shared(), 1) == JasonLike
    :ok = CrmPubSub.subscribe(topic(1))

    :ok =
      CrmPubSub.broadcast_interaction(:interaction_created, %{
        uuid: uuid(100),
        contact_uuid: nil,
        parties: [%{contact_uuid: uuid(1)}, %{contact_uuid: nil}]
      })

    assert next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(100)}}
    :ok = CrmPubSub.flush()
    assert %{acked: 1, failed: 0} = CrmPubSub.stats()
  end

  @tag client: false
  test "a codec that is not there stops the start with a clear error", %{socket: socket} do
    assert {:error, reason} = start_supervised({CrmPubSub, socket: socket, codec: NoSuchJSON})

    assert inspect(reason) =~
             "crmpubsub: codec NoSuchJSON is not loaded or lacks encode!/1 and decode/1"
  end

  test "without the option, the first codec present is used" do
    expected = Enum.find([Jason, JSON, :jiffy], &Code.ensure_loaded?/1)
    assert CrmPubSub.Codec.resolve(nil) == expected
  end
end
