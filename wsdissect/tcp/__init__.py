"""TCP reassembly per connection and direction."""
