"""What an upload is: its rules, its states and the checks between them."""
