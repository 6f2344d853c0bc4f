"""The local web viewer (`debatelab view`): browse, compare and blind-rate debates."""
