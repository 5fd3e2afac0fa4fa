# The one-module swap. The modules below are written the way a Phoenix
# application using PhoenixKitCRM.PubSub (v0.2.4) writes them — a context
# that broadcasts after its commit, a LiveView-like process that follows a
# contact's feed — with only the alias changed from
#     alias PhoenixKitCRM.PubSub
# to
#     alias CrmPubSub, as: PubSub
# The schema structs stand in for PhoenixKitCRM's Ecto schemas (no Ecto
# here); they have the same fields.

defmodule Ecto.Association.NotLoaded do
  defstruct [:__field__, :__owner__, :__cardinality__]
end

defmodule PhoenixKitCRM.Schemas.InteractionParty do
  defstruct [:uuid, :interaction_uuid, :contact_uuid, :staff_person_uuid, :raw_name]
end

defmodule PhoenixKitCRM.Schemas.Interaction do
  defstruct [
    :uuid,
    :contact_uuid,
    :subject,
    :body,
    :interaction_type,
    parties: %Ecto.Association.NotLoaded{}
  ]
end

defmodule SwapApp.Interactions do
  alias CrmPubSub, as: PubSub
  alias PhoenixKitCRM.Schemas.Interaction

  def create_interaction(%Interaction{} = interaction) do
    # ... Repo.insert ...
    PubSub.broadcast_interaction(:interaction_created, interaction)
    {:ok, interaction}
  end

  def update_interaction(%Interaction{} = old, %Interaction{} = new) do
    # ... Repo.update ...
    contacts = Enum.uniq(PubSub.involved_contact_uuids(old) ++ PubSub.involved_contact_uuids(new))
    PubSub.broadcast_to_contacts(:interaction_updated, new.uuid, contacts)
    {:ok, new}
  end

  def delete_interaction(%Interaction{} = interaction) do
    # ... Repo.delete ...
    PubSub.broadcast_interaction(:interaction_deleted, interaction)
    {:ok, interaction}
  end
end

defmodule SwapApp.ContactFeedLive do
  # What a LiveView does in mount/3 and handle_info/2, in a GenServer.
  use GenServer
  alias CrmPubSub, as: PubSub

  def start_link({contact_uuid, test}), do: GenServer.start_link(__MODULE__, {contact_uuid, test})

  @impl true
  def init({contact_uuid, test}) do
    :ok = PubSub.subscribe(PubSub.topic_contact_interactions(contact_uuid))
    {:ok, %{contact_uuid: contact_uuid, test: test}}
  end

  @impl true
  def handle_info({:crm, _event, %{interaction_uuid: _}} = msg, socket) do
    send(socket.test, {:feed, socket.contact_uuid, msg})
    {:noreply, socket}
  end

  def handle_info({:crm_resync, _reason} = msg, socket) do
    send(socket.test, {:feed, socket.contact_uuid, msg})
    {:noreply, socket}
  end

  @impl true
  def terminate(_reason, socket) do
    PubSub.unsubscribe(PubSub.topic_contact_interactions(socket.contact_uuid))
  end
end

defmodule CrmPubSub.SwapTest do
  use CrmPubSub.Case, async: false

  alias PhoenixKitCRM.Schemas.{Interaction, InteractionParty}

  test "an app written against PhoenixKitCRM.PubSub receives the seed's tuples through CrmPubSub" do
    anna = uuid(1)
    bob = uuid(2)
    carl = uuid(3)

    for c <- [anna, bob, carl],
        do: start_supervised!({SwapApp.ContactFeedLive, {c, self()}}, id: c)

    # Created with parties not preloaded: only the subject's feed.
    call = %Interaction{uuid: uuid(100), contact_uuid: anna, subject: "Call"}
    {:ok, _} = SwapApp.Interactions.create_interaction(call)
    assert_receive {:feed, ^anna, {:crm, :interaction_created, %{interaction_uuid: u}}}
    assert u == uuid(100)

    # Edited to add Bob as a party: Anna and Bob refresh.
    edited = %{
      call
      | parties: [%InteractionParty{contact_uuid: bob}, %InteractionParty{raw_name: "Someone"}]
    }

    {:ok, _} = SwapApp.Interactions.update_interaction(call, edited)
    assert_receive {:feed, ^anna, {:crm, :interaction_updated, %{interaction_uuid: ^u}}}
    assert_receive {:feed, ^bob, {:crm, :interaction_updated, %{interaction_uuid: ^u}}}

    # Deleted: both again; Carl, never involved, heard nothing.
    {:ok, _} = SwapApp.Interactions.delete_interaction(edited)
    assert_receive {:feed, ^anna, {:crm, :interaction_deleted, %{interaction_uuid: ^u}}}
    assert_receive {:feed, ^bob, {:crm, :interaction_deleted, %{interaction_uuid: ^u}}}
    :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(999), [carl])
    assert_receive {:feed, ^carl, {:crm, :interaction_created, %{interaction_uuid: marker}}}
    assert marker == uuid(999)
    refute_received {:feed, _, _}
  end
end
